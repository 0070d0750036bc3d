// The provisioning saga under failure, on the playground with the bundle: a fault on each step
// after provision is compensated (nothing left but the association in `error`), a failing
// compensation is finished by the next run, an env-var removal failure keeps the association
// and the database, and a SIGKILL at every step converges on re-run with nothing orphaned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  association,
  CLUSTERS,
  deployApp,
  envOf,
  explain,
  NS,
  orphans,
  startBed,
  sync,
  variantToml,
  writeApp,
  type Bed,
} from './helpers.js';

let bed: Bed;
beforeAll(async () => {
  bed = await startBed();
});
afterAll(async () => {
  await bed?.stop();
});

const APPS = ['faulty', 'shared-faulty', 'undo', 'keep', 'kill', 'gone'];
const noOrphans = async () => expect(await orphans(bed, { apps: APPS })).toEqual([]);
const credentials = (app: string) => bed.pg.store.get('v1/secrets', NS, `addon-${app}-postgresql-credentials`);

describe('compensation', () => {
  // A 403 is not retried: the step fails at once. fieldManager tells the writes apart.
  const faults = [
    {
      step: 'wait-usable',
      rule: (app: string) => ({
        method: 'GET',
        path: `/secrets/(${app}-pg-app|addon-${app}-postgresql-credentials)$`,
        status: 403,
      }),
    },
    {
      step: 'record-keys',
      rule: (app: string) => ({
        method: 'PUT',
        path: `/configmaps/addon-${app}-postgresql$`,
        query: 'fieldManager=addon-sync-record-keys',
        status: 403,
      }),
    },
    {
      step: 'inject-env',
      rule: (app: string) => ({
        method: '*',
        path: `/namespaces/${app}/secrets`,
        query: 'fieldManager=addon-sync-inject-env',
        status: 403,
      }),
    },
    {
      step: 'roll',
      rule: (app: string) => ({ method: 'PATCH', path: `/namespaces/${app}/deployments/${app}$`, status: 403 }),
    },
    {
      step: 'activate',
      rule: (app: string) => ({
        method: 'PUT',
        path: `/configmaps/addon-${app}-postgresql$`,
        query: 'fieldManager=addon-sync-activate',
        status: 403,
      }),
    },
  ];

  for (const variant of ['small', 'shared']) {
    const app = variant === 'small' ? 'faulty' : 'shared-faulty';
    it(`${variant}: a fault on each step after provision leaves only the association, in error with the reason`, async () => {
      deployApp(bed, app);
      writeApp(bed, app, variantToml(variant));
      for (const f of faults) {
        bed.pg.faults.add(f.rule(app));
        const r = await sync(bed);
        bed.pg.faults.clear();
        expect(r.exitCode, explain(r)).toBe(1);
        expect(r.stdout).toMatch(new RegExp(`step: ${app}/postgresql undo provision`));
        const a = association(bed, app)!;
        expect(a.status, f.step).toBe('error');
        expect(a.reason).toContain(`step '${f.step}' failed`);
        expect(a.reason).toContain('compensated');
        expect(JSON.parse(a.injectedKeys)).toEqual([]);
        expect(bed.pg.store.get(CLUSTERS, NS, `${app}-pg`)).toBeUndefined();
        expect(bed.pg.store.get(CLUSTERS, NS, 'addons-shared')).toBeUndefined();
        expect(credentials(app)).toBeUndefined();
        expect(Object.keys(envOf(bed, app) ?? {})).toEqual([]);
        expect(r.summary).toMatch(
          new RegExp(`\\| ${app} \\| postgresql \\| ${variant} \\| on_cluster \\| failed \\(error\\)`),
        );
        await noOrphans();
      }
      // Without the fault the next run provisions it.
      const ok = await sync(bed);
      expect(ok.exitCode, explain(ok)).toBe(0);
      expect(association(bed, app)!.status).toBe('active');
      writeApp(bed, app, '\n[addons]\n');
      expect((await sync(bed)).exitCode).toBe(0);
      await noOrphans();
    });
  }

  it('a compensation that fails too leaves the association non-terminal; the next run finishes it', async () => {
    deployApp(bed, 'undo');
    writeApp(bed, 'undo', variantToml('small'));
    bed.pg.faults.add({ method: 'PATCH', path: '/namespaces/undo/deployments/undo$', status: 403 });
    bed.pg.faults.add({ method: 'DELETE', path: '/clusters/undo-pg$', status: 403, times: Infinity });
    const r = await sync(bed);
    bed.pg.faults.clear();
    expect(r.exitCode, explain(r)).toBe(1);
    const a = association(bed, 'undo')!;
    expect(a).toMatchObject({ status: 'deprovisioning', intent: 'compensate' });
    expect(a.reason).toMatch(/step 'roll' failed.*compensation 'provision' failed.*the next run finishes it/);
    expect(bed.pg.store.get(CLUSTERS, NS, 'undo-pg')).toBeDefined(); // still owned by the association
    expect(Object.keys(envOf(bed, 'undo') ?? {})).toEqual([]); // the env undo ran before
    const next = await sync(bed);
    expect(next.exitCode, explain(next)).toBe(0);
    expect(next.stdout).toMatch(/undo\/postgresql remove destroy[\s\S]*undo\/postgresql run activate/);
    expect(association(bed, 'undo')!.status).toBe('active');
    writeApp(bed, 'undo', '\n[addons]\n');
    expect((await sync(bed)).exitCode).toBe(0);
    await noOrphans();
  });
});

describe('removal failures', () => {
  it('an env-var removal failure keeps the association and the database; the re-run completes', async () => {
    deployApp(bed, 'keep');
    writeApp(bed, 'keep', variantToml('small'));
    expect((await sync(bed)).exitCode).toBe(0);
    writeApp(bed, 'keep', '\n[addons]\n');
    // The Secret was created by the add-on, so emptying it deletes it; other Secrets get a PUT.
    bed.pg.faults.add({
      method: 'PUT',
      path: '/namespaces/keep/secrets/keep-env$',
      query: 'fieldManager=addon-sync-remove-env',
      status: 403,
    });
    bed.pg.faults.add({ method: 'DELETE', path: '/namespaces/keep/secrets/keep-env$', status: 403 });
    const r = await sync(bed);
    bed.pg.faults.clear();
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors[0]).toMatch(/app 'keep' postgresql: removing the env vars failed: .*kept and the next run retries/);
    expect(association(bed, 'keep')).toMatchObject({ status: 'deprovisioning', intent: 'remove' });
    expect(bed.pg.store.get(CLUSTERS, NS, 'keep-pg')).toBeDefined();
    expect(envOf(bed, 'keep')!.DATABASE_URL).toBeTruthy();
    const again = await sync(bed);
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.outputs.removed).toBe('1');
    expect(association(bed, 'keep')).toBeUndefined();
    expect(bed.pg.store.get(CLUSTERS, NS, 'keep-pg')).toBeUndefined();
    expect(envOf(bed, 'keep')).toBeUndefined();
    await noOrphans();
  });

  it('an app that is gone counts as env removal done', async () => {
    deployApp(bed, 'gone');
    writeApp(bed, 'gone', variantToml('shared'));
    expect((await sync(bed)).exitCode).toBe(0);
    bed.pg.store.delete('apps/v1/deployments', 'gone', 'gone');
    bed.pg.store.delete('v1/secrets', 'gone', 'gone-env');
    writeApp(bed, 'gone', '\n[addons]\n');
    const r = await sync(bed);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(association(bed, 'gone')).toBeUndefined();
    expect(bed.pg.store.get(CLUSTERS, NS, 'addons-shared')).toBeUndefined();
    await noOrphans();
  });
});

describe('SIGKILL at every step', () => {
  const createSteps = ['record', 'provision', 'wait-usable', 'record-keys', 'inject-env', 'roll', 'activate'];
  const removeSteps = ['mark-deprovisioning', 'remove-env', 'roll', 'destroy', 'delete-association'];

  it('re-running after a kill converges with nothing orphaned (create and removal)', async () => {
    deployApp(bed, 'kill');
    for (const step of createSteps) {
      writeApp(bed, 'kill', variantToml('small'));
      const killed = await sync(
        bed,
        {},
        { killOn: { pattern: new RegExp(`step: kill/postgresql run ${step}\\n`), signal: 'SIGKILL' } },
      );
      // The last step is one request: the process may finish it before the signal lands.
      if (step !== 'activate') expect(killed.signal, `${step}\n${explain(killed)}`).toBe('SIGKILL');
      expect(killed.stdout).toMatch(`run ${step}`);
      const r = await sync(bed);
      expect(r.exitCode, `after kill at ${step}: ${explain(r)}`).toBe(0);
      expect(association(bed, 'kill')!.status).toBe('active');
      expect(envOf(bed, 'kill')!.PGHOST).toBe(`kill-pg-rw.${NS}.svc`);
      await noOrphans();

      // Every create iteration starts from a removed add-on; removals are killed at each of their steps.
      const s = removeSteps[createSteps.indexOf(step)];
      writeApp(bed, 'kill', '\n[addons]\n');
      if (s) {
        const k2 = await sync(
          bed,
          {},
          { killOn: { pattern: new RegExp(`step: kill/postgresql remove ${s}\\n`), signal: 'SIGKILL' } },
        );
        if (s !== 'delete-association') expect(k2.signal, `${s}\n${explain(k2)}`).toBe('SIGKILL');
        expect(k2.stdout).toMatch(`remove ${s}`);
      }
      const r2 = await sync(bed);
      expect(r2.exitCode, `after kill at remove ${s ?? '(none)'}: ${explain(r2)}`).toBe(0);
      expect(association(bed, 'kill')).toBeUndefined();
      expect(bed.pg.store.get(CLUSTERS, NS, 'kill-pg')).toBeUndefined();
      expect(envOf(bed, 'kill')).toBeUndefined();
      await noOrphans();
    }
  });
});
