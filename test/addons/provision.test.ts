// addon-sync e2e on the playground (the bundle, as the runner runs it): every variant
// provisions and its DATABASE_URL really connects; no-op, plan mode, collisions, grow/shrink,
// removal (one gone, empty table, missing table), reclaim retain vs delete, bad app.toml files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets } from '../helpers/run-action.js';
import { association, CLUSTERS, connectAsApp, deployApp, envOf, explain, NS, orphans, startBed, sync, variantToml, writeApp, writes, type Bed } from './helpers.js';

let bed: Bed;
beforeAll(async () => {
  bed = await startBed();
});
afterAll(async () => {
  await bed?.stop();
});

describe('provisioning', () => {
  it('small: creates a dedicated cluster, injects vars that connect, rolls the app, records the association', async () => {
    deployApp(bed, 'billing');
    writeApp(bed, 'billing', variantToml('small'));
    const r = await sync(bed);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ created: '1', updated: '0', removed: '0', failed: '0' });
    const env = envOf(bed, 'billing')!;
    expect(Object.keys(env).sort()).toEqual(['DATABASE_URL', 'PGDATABASE', 'PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']);
    expect(env.PGHOST).toBe(`billing-pg-rw.${NS}.svc`);
    expect(await connectAsApp(bed, env.DATABASE_URL)).toEqual({ user: 'billing', database: 'billing' });
    const a = association(bed, 'billing')!;
    expect(a).toMatchObject({ status: 'active', variant: 'small', locality: 'on_cluster' });
    expect(JSON.parse(a.injectedKeys)).toHaveLength(6);
    const cluster = bed.pg.store.get(CLUSTERS, NS, 'billing-pg')!;
    expect(cluster.spec).toMatchObject({ instances: 1, storage: { size: '1Gi' } });
    const dep = bed.pg.store.get('apps/v1/deployments', 'billing', 'billing')!;
    expect(dep.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
    const reg = bed.pg.store.get('v1/configmaps', NS, 'addon-registry')!;
    expect(JSON.parse(reg.data.postgresql).locality).toBe('on_cluster');
    expect(r.summary).toMatch(/\| billing \| postgresql \| small \| on_cluster \| active \|/);
    expect(leakedSecrets(r, [env.PGPASSWORD, env.DATABASE_URL])).toEqual([]);
    expect(await orphans(bed, { apps: ['billing'] })).toEqual([]);
  });

  it('a second sync changes nothing and makes no write request; plan mode writes nothing either', async () => {
    bed.pg.requestLog.clear();
    const r = await sync(bed);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ created: '0', updated: '0', removed: '0', failed: '0' });
    expect(writes(bed.pg.requestLog.entries())).toEqual([]);
    writeApp(bed, 'billing', variantToml('medium'));
    const p = await sync(bed, { mode: 'plan' });
    expect(p.exitCode, explain(p)).toBe(0);
    expect(JSON.parse(p.outputs.plan)[0].items[0]).toMatchObject({ action: 'update', variant: 'medium', fromVariant: 'small' });
    expect(writes(bed.pg.requestLog.entries())).toEqual([]);
  });
});
