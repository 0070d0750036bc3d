// addon-sync e2e on the playground (the bundle, as the runner runs it): every variant
// provisions and its DATABASE_URL really connects; no-op, plan mode, collisions, grow/shrink,
// removal (one gone, empty table, missing table), reclaim retain vs delete, bad app.toml files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets } from '../helpers/run-action.js';
import { waitFor } from '../playground/cnpg/test-env.js';
import {
  association,
  CLUSTERS,
  superuserQuery,
  removeAppFile,
  connectAsApp,
  deployApp,
  envOf,
  explain,
  NS,
  orphans,
  startBed,
  sync,
  variantToml,
  writeApp,
  writes,
  type Bed,
} from './helpers.js';

let bed: Bed;
// The "external" server of the remote provider: a playground cluster reached directly on its
// loopback port, as a managed Postgres would be reached from a runner.
const EXT = { ns: 'external', cluster: 'external-pg' };
const inputs = { 'remote-admin-secret': `${EXT.ns}/ext-admin` };
beforeAll(async () => {
  bed = await startBed();
  const s = bed.pg.store;
  s.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: EXT.ns } });
  s.create(CLUSTERS, {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: EXT.cluster, namespace: EXT.ns },
    spec: { instances: 1, enableSuperuserAccess: true, storage: { size: '1Gi' } },
  });
  const c = await waitFor(
    'external server',
    () => s.get(CLUSTERS, EXT.ns, EXT.cluster)?.status?.readyInstances === 1 && s.get(CLUSTERS, EXT.ns, EXT.cluster),
    60_000,
  );
  const at = bed.pg.network.resolve(EXT.ns, c.status.currentPrimary, 5432)!;
  const su = s.get('v1/secrets', EXT.ns, `${EXT.cluster}-superuser`)!;
  s.create('v1/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'ext-admin', namespace: EXT.ns },
    stringData: {
      host: at.host,
      port: String(at.port),
      username: 'postgres',
      password: Buffer.from(su.data.password, 'base64').toString('utf8'),
      dbname: 'postgres',
    },
  });
});
afterAll(async () => {
  await bed?.stop();
});

describe('provisioning', () => {
  it('small: creates a dedicated cluster, injects vars that connect, rolls the app, records the association', async () => {
    deployApp(bed, 'billing');
    writeApp(bed, 'billing', variantToml('small'));
    const r = await sync(bed, inputs);
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
    const r = await sync(bed, inputs);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ created: '0', updated: '0', removed: '0', failed: '0' });
    expect(writes(bed.pg.requestLog.entries())).toEqual([]);
    writeApp(bed, 'billing', variantToml('medium'));
    const p = await sync(bed, { ...inputs, mode: 'plan' });
    expect(p.exitCode, explain(p)).toBe(0);
    expect(JSON.parse(p.outputs.plan)[0].items[0]).toMatchObject({
      action: 'update',
      variant: 'medium',
      fromVariant: 'small',
    });
    expect(writes(bed.pg.requestLog.entries())).toEqual([]);
  });
});

describe('variants', () => {
  it('medium grows the small cluster in place (storage and a streaming replica); a shrink back fails clearly and changes nothing', async () => {
    const before = bed.pg.store.get(CLUSTERS, NS, 'billing-pg')!.metadata.uid;
    const r = await sync(bed, inputs);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ created: '0', updated: '1', failed: '0' });
    const c = bed.pg.store.get(CLUSTERS, NS, 'billing-pg')!;
    expect(c.metadata.uid).toBe(before);
    expect(c.spec).toMatchObject({ instances: 2, storage: { size: '10Gi' } });
    expect(c.status.readyInstances).toBe(2);
    expect(association(bed, 'billing')).toMatchObject({ variant: 'medium', status: 'active' });
    expect(await connectAsApp(bed, envOf(bed, 'billing')!.DATABASE_URL)).toEqual({
      user: 'billing',
      database: 'billing',
    });

    writeApp(bed, 'billing', variantToml('small'));
    bed.pg.requestLog.clear();
    const shrink = await sync(bed, inputs);
    expect(shrink.exitCode).toBe(1);
    expect(shrink.errors.at(-1)).toBe('1 add-on change(s) failed; the other apps were synced.');
    expect(shrink.errors.slice(0, -1)).toEqual([
      expect.stringMatching(
        /app 'billing': postgresql cannot shrink from 'medium' \(10Gi\) to 'small' \(1Gi\).*Keep variant = "medium"/,
      ),
    ]);
    expect(shrink.outputs).toMatchObject({ failed: '1', updated: '0' });
    expect(writes(bed.pg.requestLog.entries())).toEqual([]);
    writeApp(bed, 'billing', variantToml('medium'));
  });

  it('large and shared (two apps, one database and role each, isolated) and remote all connect; one app colliding with a hand-set var fails alone', async () => {
    for (const app of ['analytics', 'shop', 'blog', 'crm', 'legacy'])
      deployApp(
        bed,
        app,
        app === 'legacy' ? { env: { DATABASE_URL: 'postgres://mine@elsewhere/db', OTHER: 'kept' } } : {},
      );
    writeApp(bed, 'analytics', variantToml('large'));
    writeApp(bed, 'shop', variantToml('shared'));
    writeApp(bed, 'blog', variantToml('shared'));
    writeApp(bed, 'crm', variantToml('database', 'postgresql-remote'));
    writeApp(bed, 'legacy', variantToml('small'));
    const r = await sync(bed, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.outputs).toMatchObject({ created: '4', failed: '1' });
    expect(r.errors.slice(0, -1)).toEqual([
      expect.stringMatching(/DATABASE_URL already set in Secret legacy\/legacy-env by hand .*will not overwrite it/),
    ]);
    // Nothing clobbered, nothing provisioned for the colliding app.
    expect(envOf(bed, 'legacy')).toEqual({ DATABASE_URL: 'postgres://mine@elsewhere/db', OTHER: 'kept' });
    expect(association(bed, 'legacy')).toBeUndefined();
    expect(bed.pg.store.get(CLUSTERS, NS, 'legacy-pg')).toBeUndefined();
    expect(r.summary).toMatch(/\| legacy \| postgresql \| small \| on_cluster \| failed/);

    const large = bed.pg.store.get(CLUSTERS, NS, 'analytics-pg')!;
    expect(large.spec).toMatchObject({ instances: 3, storage: { size: '50Gi' } });
    expect(large.status.readyInstances).toBe(3);
    expect(await connectAsApp(bed, envOf(bed, 'analytics')!.DATABASE_URL)).toEqual({
      user: 'analytics',
      database: 'analytics',
    });

    const shop = envOf(bed, 'shop')!;
    const blog = envOf(bed, 'blog')!;
    expect(shop.PGHOST).toBe(`addons-shared-rw.${NS}.svc`);
    expect(await connectAsApp(bed, shop.DATABASE_URL)).toEqual({ user: 'shop', database: 'shop' });
    expect(await connectAsApp(bed, blog.DATABASE_URL)).toEqual({ user: 'blog', database: 'blog' });
    const crossed = new URL(shop.DATABASE_URL);
    crossed.pathname = '/blog';
    await expect(connectAsApp(bed, crossed.toString())).rejects.toThrow(/permission denied for database "blog"/);
    expect(association(bed, 'shop')).toMatchObject({ variant: 'shared', status: 'active', locality: 'on_cluster' });

    const crm = envOf(bed, 'crm')!;
    expect(await connectAsApp(bed, crm.DATABASE_URL)).toEqual({ user: 'crm', database: 'crm' });
    expect(association(bed, 'crm', 'postgresql-remote')).toMatchObject({ status: 'active', locality: 'remote' });
    expect(r.summary).toMatch(/\| crm \| postgresql-remote \| database \| remote \| active \|/);
    const secrets = [shop, blog, crm, envOf(bed, 'analytics')!].flatMap((e) => [e.PGPASSWORD, e.DATABASE_URL]);
    expect(leakedSecrets(r, secrets)).toEqual([]);
    expect(await orphans(bed, { apps: ['billing', 'analytics', 'shop', 'blog', 'crm', 'legacy'] })).toEqual([]);
  });
});

describe('removal', () => {
  it('switching crm from remote to shared removes the remote database first; an empty [addons] table removes all; a missing one touches nothing', async () => {
    writeApp(bed, 'crm', variantToml('shared'));
    writeApp(bed, 'analytics', '\n[addons]\n');
    writeApp(bed, 'shop', '');
    removeAppFile(bed, 'legacy');
    const plan = await sync(bed, { ...inputs, mode: 'plan' });
    const items = JSON.parse(plan.outputs.plan) as {
      app: string;
      items: { addon: string; action: string; destructive: boolean }[];
    }[];
    expect(items.find((p) => p.app === 'crm')!.items.map((i) => [i.addon, i.action, i.destructive])).toEqual([
      ['postgresql-remote', 'remove', true],
      ['postgresql', 'create', false],
    ]);
    expect(items.find((p) => p.app === 'shop')!.items[0].action).toBe('unchanged');

    const r = await sync(bed, inputs);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ created: '1', removed: '2', failed: '0' });
    expect(association(bed, 'crm', 'postgresql-remote')).toBeUndefined();
    expect(
      await superuserQuery(
        bed,
        EXT.ns,
        EXT.cluster,
        "SELECT datname FROM pg_database WHERE datname = 'crm' UNION ALL SELECT rolname FROM pg_roles WHERE rolname = 'crm'",
      ),
    ).toEqual([]);
    expect(await connectAsApp(bed, envOf(bed, 'crm')!.DATABASE_URL)).toEqual({ user: 'crm', database: 'crm' });
    expect(envOf(bed, 'crm')!.PGHOST).toBe(`addons-shared-rw.${NS}.svc`);
    // analytics: env vars gone (the Secret we created is deleted), Cluster deleted, record gone.
    expect(envOf(bed, 'analytics')).toBeUndefined();
    expect(bed.pg.store.get(CLUSTERS, NS, 'analytics-pg')).toBeUndefined();
    expect(association(bed, 'analytics')).toBeUndefined();
    // shop: untouched.
    expect(association(bed, 'shop')).toMatchObject({ status: 'active' });
    expect(await orphans(bed, { apps: ['billing', 'analytics', 'shop', 'blog', 'crm'] })).toEqual([]);
  });

  it('reclaim retain detaches but keeps the data; re-adding the add-on re-attaches it; reclaim delete then removes the shared cluster with its last user', async () => {
    writeApp(bed, 'billing', '\n[addons]\n');
    writeApp(bed, 'blog', '\n[addons]\n');
    const r = await sync(bed, { ...inputs, reclaim: 'retain' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ removed: '2' });
    expect(association(bed, 'billing')).toBeUndefined();
    expect(envOf(bed, 'billing')).toBeUndefined();
    const kept = bed.pg.store.get(CLUSTERS, NS, 'billing-pg')!;
    expect(kept.metadata.labels?.['cnpg-actions.io/retained']).toBe('true');
    expect(
      await superuserQuery(
        bed,
        NS,
        'addons-shared',
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'blog'",
      ),
    ).toEqual([{ rolname: 'blog', rolcanlogin: false }]);
    expect(
      await superuserQuery(bed, NS, 'addons-shared', "SELECT datname FROM pg_database WHERE datname = 'blog'"),
    ).toHaveLength(1);

    writeApp(bed, 'billing', variantToml('medium'));
    const again = await sync(bed, inputs);
    expect(again.exitCode, explain(again)).toBe(0);
    expect(bed.pg.store.get(CLUSTERS, NS, 'billing-pg')!.metadata.uid).toBe(kept.metadata.uid);
    expect(bed.pg.store.get(CLUSTERS, NS, 'billing-pg')!.metadata.labels?.['cnpg-actions.io/retained']).toBeUndefined();
    expect(await connectAsApp(bed, envOf(bed, 'billing')!.DATABASE_URL)).toEqual({
      user: 'billing',
      database: 'billing',
    });

    // Drop the retained shared database by hand (an operator's call), then remove every user.
    await superuserQuery(bed, NS, 'addons-shared', 'DROP DATABASE blog');
    await superuserQuery(bed, NS, 'addons-shared', 'DROP ROLE blog');
    for (const app of ['billing', 'crm', 'shop']) writeApp(bed, app, '\n[addons]\n');
    const last = await sync(bed, inputs);
    expect(last.exitCode, explain(last)).toBe(0);
    expect(last.outputs).toMatchObject({ removed: '3', failed: '0' });
    expect(bed.pg.store.list(CLUSTERS, NS).items.map((c) => c.metadata.name)).toEqual([]);
    expect(
      bed.pg.store.list('v1/configmaps', NS, { labelSelector: 'cnpg-actions.io/component=association' }).items,
    ).toEqual([]);
    expect(await orphans(bed, { apps: ['billing', 'shop', 'blog', 'crm'] })).toEqual([]);
  });
});

describe('backups', () => {
  it('dedicated clusters archive to the object store with a six-field ScheduledBackup; removal deletes both', async () => {
    const s3 = bed.pg.store.get('v1/secrets', 'default', 'playground-s3')!;
    bed.pg.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'addon-backups', namespace: NS },
      data: s3.data,
    });
    const backup = {
      ...inputs,
      'backup-destination-path': `s3://${bed.pg.s3.bucket}/addons`,
      'backup-endpoint-url': bed.pg.s3.endpoint,
      'backup-credentials-secret': 'addon-backups',
    };
    deployApp(bed, 'archived');
    writeApp(bed, 'archived', variantToml('small'));
    const bad = await sync(bed, { ...backup, 'backup-schedule': '0 3 * * *' });
    expect(bad.exitCode).toBe(1);
    expect(bad.errors.at(-1)).toMatch(/^Input 'backup-schedule': schedule '0 3 \* \* \*' has five fields/);
    expect(association(bed, 'archived')).toBeUndefined();
    const r = await sync(bed, backup);
    expect(r.exitCode, explain(r)).toBe(0);
    const c = bed.pg.store.get(CLUSTERS, NS, 'archived-pg')!;
    expect(c.spec.backup.barmanObjectStore).toMatchObject({
      destinationPath: `s3://${bed.pg.s3.bucket}/addons`,
      serverName: 'archived-pg',
      endpointURL: bed.pg.s3.endpoint,
    });
    const sb = bed.pg.store.get('postgresql.cnpg.io/v1/scheduledbackups', NS, 'archived-pg-daily')!;
    expect(sb.spec).toMatchObject({ schedule: '0 0 3 * * *', cluster: { name: 'archived-pg' } });
    // The object store settings really work: an on-demand backup of the add-on's cluster completes.
    const BACKUPS = 'postgresql.cnpg.io/v1/backups';
    bed.pg.store.create(BACKUPS, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: { name: 'archived-check', namespace: NS },
      spec: { cluster: { name: 'archived-pg' } },
    });
    const done = await waitFor(
      'backup',
      () =>
        ['completed', 'failed'].includes(bed.pg.store.get(BACKUPS, NS, 'archived-check')?.status?.phase) &&
        bed.pg.store.get(BACKUPS, NS, 'archived-check'),
      90_000,
    );
    expect(done.status.phase, JSON.stringify(done.status)).toBe('completed');
    bed.pg.store.delete(BACKUPS, NS, 'archived-check');
    writeApp(bed, 'archived', '\n[addons]\n');
    const gone = await sync(bed, backup);
    expect(gone.exitCode, explain(gone)).toBe(0);
    expect(bed.pg.store.get('postgresql.cnpg.io/v1/scheduledbackups', NS, 'archived-pg-daily')).toBeUndefined();
    expect(bed.pg.store.get(CLUSTERS, NS, 'archived-pg')).toBeUndefined();
    removeAppFile(bed, 'archived');
  });
});

describe('bad app.toml files', () => {
  it('each gives one clear error naming file, line and fix, and nothing changes', async () => {
    const bad: Record<string, string> = {
      syntax: 'name = "syntax"\n[addons.postgresql\nvariant = "small"\n',
      addon: 'name = "addon"\n[addons.mysql]\nvariant = "small"\n',
      variant: 'name = "variant"\n[addons.postgresql]\nvariant = "xl"\n',
      key: 'name = "key"\n[addons.postgresql]\nvariant = "small"\nreplicas = 3\n',
    };
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    for (const [dir, text] of Object.entries(bad)) {
      mkdirSync(join(bed.dir, 'bad', dir), { recursive: true });
      writeFileSync(join(bed.dir, 'bad', dir, 'app.toml'), text);
    }
    bed.pg.requestLog.clear();
    const r = await sync(bed, { ...inputs, apps: 'apps/*/app.toml\nbad/*/app.toml' });
    expect(r.exitCode).toBe(1);
    expect(r.errors.at(-1)).toBe("Input 'apps': 4 problem(s) in app.toml files; nothing was changed.");
    expect(r.errors.slice(0, -1).sort()).toEqual([
      "bad/addon/app.toml:2: unknown add-on 'mysql'; valid add-ons: postgresql, postgresql-remote.",
      "bad/key/app.toml:4: unknown key 'replicas' in [addons.postgresql]; valid keys: variant, version.",
      expect.stringMatching(/^bad\/syntax\/app\.toml:2:\d+: invalid TOML \(.+\); fix the syntax at that position\.$/),
      "bad/variant/app.toml:3: unknown variant 'xl' for postgresql; valid variants: small, medium, large, shared (default small).",
    ]);
    expect(bed.pg.requestLog.entries()).toEqual([]);
  });
});
