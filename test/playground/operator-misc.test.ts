// Operator emulator: CRDs, webhook rejections with CNPG's messages, ScheduledBackups, Database
// CRs and managed roles, parameters, resize, archiving into a used path, Retain volumes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import pg from 'pg';
import {
  BACKUP,
  CLUSTER,
  appQuery,
  cluster,
  inTreeStore,
  postgresPids,
  startEnv,
  suQuery,
  waitFor,
  waitHealthy,
  type TestEnv,
} from './cnpg/test-env.js';
import { b64 } from './cnpg/context.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
  expect(postgresPids(env.dir)).toBe('');
});

const reject = (gvr: string, obj: any) => {
  try {
    env.store.create(gvr, obj);
  } catch (err) {
    return (err as Error & { code: number }).message + ` [${(err as any).code}]`;
  }
  throw new Error('accepted');
};

describe('CRDs and webhooks', () => {
  it('serves the CNPG and plugin types with status subresource and short names', () => {
    for (const gvr of [
      'postgresql.cnpg.io/v1/clusters',
      'postgresql.cnpg.io/v1/backups',
      'postgresql.cnpg.io/v1/scheduledbackups',
      'postgresql.cnpg.io/v1/databases',
      'postgresql.cnpg.io/v1/poolers',
      'postgresql.cnpg.io/v1/publications',
      'postgresql.cnpg.io/v1/subscriptions',
      'postgresql.cnpg.io/v1/imagecatalogs',
      'barmancloud.cnpg.io/v1/objectstores',
    ]) {
      expect(env.store.typeOf(gvr), gvr).toMatchObject({ statusSubresource: true, namespaced: true });
    }
    expect(env.store.typeOf(CLUSTER)!.shortNames).toContain('cluster');
  });

  it('rejects invalid Clusters with CNPG messages', () => {
    expect(reject(CLUSTER, cluster('nosize', { storage: {} }))).toContain(
      'spec.storage.size: Invalid value: "": Size not configured. Please add it, or a storage request in the pvcTemplate. [422]',
    );
    expect(
      reject(CLUSTER, cluster('nodest', { backup: { barmanObjectStore: { endpointURL: env.s3.endpoint } } })),
    ).toContain('spec.backup.barmanObjectStore.destinationPath: Required value');
    expect(reject(CLUSTER, cluster('nosrc', { bootstrap: { recovery: { source: 'x' } } }))).toContain(
      'spec.bootstrap.recovery.source: Invalid value: "x": External cluster x not found',
    );
    expect(
      reject(
        CLUSTER,
        cluster('both', {
          bootstrap: { recovery: { source: 'x', backup: { name: 'b' } } },
          externalClusters: [{ name: 'x', barmanObjectStore: inTreeStore(env, 'p') }],
        }),
      ),
    ).toContain('spec.bootstrap.recovery');
    expect(
      reject(
        CLUSTER,
        cluster('nobid', {
          bootstrap: { recovery: { source: 'x', recoveryTarget: { targetName: 'rp' } } },
          externalClusters: [{ name: 'x', barmanObjectStore: inTreeStore(env, 'p') }],
        }),
      ),
    ).toContain('BackupID is missing');
    expect(
      reject(CLUSTER, cluster('two', { bootstrap: { initdb: {}, recovery: { backup: { name: 'b' } } } })),
    ).toContain('Only one bootstrap method can be specified at a time');
    expect(
      reject('postgresql.cnpg.io/v1/scheduledbackups', {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'ScheduledBackup',
        metadata: { name: 'sb', namespace: 'default' },
        spec: { schedule: 'every day', cluster: { name: 'x' } },
      }),
    ).toContain('spec.schedule');
    expect(
      reject('postgresql.cnpg.io/v1/databases', {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Database',
        metadata: { name: 'd', namespace: 'default' },
        spec: { name: 'postgres', owner: 'app', cluster: { name: 'x' } },
      }),
    ).toContain('the name postgres is reserved');
  });

  it('defaults and refuses to shrink storage', async () => {
    const c = env.store.create(
      CLUSTER,
      cluster('grow', { storage: { size: '1Gi' }, postgresql: { parameters: { work_mem: '8MB' } } }),
    );
    expect(c.spec).toMatchObject({
      instances: 1,
      imageName: 'ghcr.io/cloudnative-pg/postgresql:15',
      enableSuperuserAccess: false,
      bootstrap: { initdb: { database: 'app', owner: 'app' } },
    });
    await waitHealthy(env, 'grow', 60_000);
    expect(() => env.store.mutate(CLUSTER, 'default', 'grow', (o) => void (o.spec.storage.size = '500Mi'))).toThrow(
      'spec.storage: Invalid value: "500Mi": can\'t shrink existing storage from 1Gi to 500Mi',
    );
    env.store.mutate(CLUSTER, 'default', 'grow', (o) => {
      o.spec.storage.size = '2Gi';
      o.spec.postgresql.parameters.work_mem = '16MB';
      o.spec.postgresql.parameters.max_connections = '60';
    });
    await waitFor(
      'pvc resized',
      () => env.store.get('v1/persistentvolumeclaims', 'default', 'grow-1')?.spec.resources.requests.storage === '2Gi',
      10_000,
    );
    await waitFor(
      'parameters applied',
      async () => {
        const rows = await appQuery(
          env,
          'grow',
          "SELECT current_setting('work_mem') AS w, current_setting('max_connections') AS m",
        );
        return rows[0].w === '16MB' && rows[0].m === '60';
      },
      20_000,
      300,
    );
  });
});

describe('archiving and schedules', () => {
  it('a new cluster archiving into a used path reports ContinuousArchiving failing ("Expected empty archive")', async () => {
    env.store.create(
      CLUSTER,
      cluster('first', {
        enableSuperuserAccess: true,
        backup: { barmanObjectStore: inTreeStore(env, 'shared', { serverName: 'same' }) },
      }),
    );
    await waitHealthy(env, 'first', 60_000);
    await suQuery(env, 'first', 'SELECT pg_switch_wal()');
    await waitFor(
      'first archived',
      () =>
        env.store
          .get(CLUSTER, 'default', 'first')
          ?.status.conditions.find((c: any) => c.type === 'ContinuousArchiving' && c.status === 'True'),
      60_000,
    );
    env.store.create(
      CLUSTER,
      cluster('second', {
        enableSuperuserAccess: true,
        backup: { barmanObjectStore: inTreeStore(env, 'shared', { serverName: 'same' }) },
      }),
    );
    await waitHealthy(env, 'second', 60_000);
    await suQuery(env, 'second', 'SELECT pg_switch_wal()');
    const cond = await waitFor(
      'archiving failing',
      () =>
        env.store
          .get(CLUSTER, 'default', 'second')
          ?.status.conditions.find((c: any) => c.type === 'ContinuousArchiving' && c.status === 'False'),
      60_000,
    );
    expect(cond.reason).toBe('ContinuousArchivingFailing');
    expect(env.api.logs.read('default', 'second-1')).toContain('Expected empty archive');
  });

  it('a ScheduledBackup fires on its six-field schedule, and suspend stops it', async () => {
    env.store.create('postgresql.cnpg.io/v1/scheduledbackups', {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'ScheduledBackup',
      metadata: { name: 'every2s', namespace: 'default' },
      spec: { schedule: '*/2 * * * * *', cluster: { name: 'first' }, backupOwnerReference: 'self', immediate: true },
    });
    const fired = await waitFor(
      'two scheduled backups',
      () => {
        const items = env.store.list(BACKUP, 'default', { labelSelector: 'cnpg.io/scheduled-backup=every2s' }).items;
        return items.length >= 2 ? items : undefined;
      },
      30_000,
      100,
    );
    env.store.mutate(
      'postgresql.cnpg.io/v1/scheduledbackups',
      'default',
      'every2s',
      (o) => void (o.spec.suspend = true),
    );
    const done = await waitFor(
      'a scheduled backup completed',
      () => {
        const items = env.store.list(BACKUP, 'default', { labelSelector: 'cnpg.io/scheduled-backup=every2s' }).items;
        return items.some((b) => b.status?.phase === 'completed') ? items : undefined;
      },
      120_000,
      200,
    );
    expect(fired.length).toBeGreaterThanOrEqual(2);
    expect(done[0].metadata.labels).toMatchObject({
      'cnpg.io/cluster': 'first',
      'cnpg.io/scheduled-backup': 'every2s',
    });
    expect(done[0].metadata.name).toMatch(/^every2s-\d{14}$/);
    expect(done[0].metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ScheduledBackup', name: 'every2s' });
    const sb = env.store.get('postgresql.cnpg.io/v1/scheduledbackups', 'default', 'every2s')!;
    expect(sb.status.lastScheduleTime).toBeTruthy();
    expect(sb.status.nextScheduleTime).toBeTruthy();
    const before = env.store.list(BACKUP, 'default', { labelSelector: 'cnpg.io/scheduled-backup=every2s' }).items
      .length;
    await new Promise((r) => setTimeout(r, 4000));
    expect(env.store.list(BACKUP, 'default', { labelSelector: 'cnpg.io/scheduled-backup=every2s' }).items.length).toBe(
      before,
    );
  });
});

describe('databases and roles', () => {
  it('Database CRs create and drop databases; managed roles get their passwords', async () => {
    env.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/basic-auth',
      metadata: { name: 'alice-pw', namespace: 'default', labels: { 'cnpg.io/reload': 'true' } },
      data: { username: b64('alice'), password: b64('s3cret-1') },
    });
    env.store.mutate(CLUSTER, 'default', 'first', (o) => {
      o.spec.managed = {
        roles: [
          {
            name: 'alice',
            ensure: 'present',
            login: true,
            connectionLimit: 5,
            inRoles: ['pg_read_all_data'],
            passwordSecret: { name: 'alice-pw' },
          },
          { name: 'ghost', ensure: 'absent' },
        ],
      };
    });
    const st = await waitFor(
      'roles reconciled',
      () =>
        env.store
          .get(CLUSTER, 'default', 'first')
          ?.status.managedRolesStatus?.byStatus?.reconciled?.includes('alice') &&
        env.store.get(CLUSTER, 'default', 'first')!.status.managedRolesStatus,
      20_000,
    );
    expect(st.passwordStatus.alice.resourceVersion).toBeTruthy();
    const ep = env.api.network.resolve('default', 'first-1', 5432)!;
    const login = async (password: string) => {
      const c = new pg.Client({ ...ep, user: 'alice', password, database: 'app' });
      await c.connect();
      await c.end();
      return true;
    };
    expect(await login('s3cret-1')).toBe(true);
    env.store.mutate('v1/secrets', 'default', 'alice-pw', (o) => void (o.data.password = b64('s3cret-2')));
    await waitFor('password rotated', () => login('s3cret-2'), 60_000, 300);
    const DB = 'postgresql.cnpg.io/v1/databases';
    env.store.create(DB, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Database',
      metadata: { name: 'db-one', namespace: 'default' },
      spec: { name: 'one', owner: 'alice', cluster: { name: 'first' }, databaseReclaimPolicy: 'delete' },
    });
    const d = await waitFor(
      'db applied',
      () => env.store.get(DB, 'default', 'db-one')?.status?.applied === true && env.store.get(DB, 'default', 'db-one'),
      20_000,
    );
    expect(d.metadata.finalizers).toContain('cnpg.io/deleteDatabase');
    expect(d.status.observedGeneration).toBe(d.metadata.generation);
    expect(
      (await suQuery(env, 'first', "SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = 'one'"))[0].o,
    ).toBe('alice');
    env.store.create(DB, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Database',
      metadata: { name: 'db-bad', namespace: 'default' },
      spec: { name: 'bad', owner: 'nobody', cluster: { name: 'first' } },
    });
    const bad = await waitFor(
      'db failed',
      () => env.store.get(DB, 'default', 'db-bad')?.status?.applied === false && env.store.get(DB, 'default', 'db-bad'),
      20_000,
    );
    expect(bad.status.message).toContain('role "nobody" does not exist');
    env.store.delete(DB, 'default', 'db-one');
    await waitFor('db CR gone', () => !env.store.get(DB, 'default', 'db-one'), 20_000);
    expect(await suQuery(env, 'first', "SELECT 1 FROM pg_database WHERE datname = 'one'")).toEqual([]);
  });
});

describe('volumes', () => {
  it('a Retain storage class keeps the PV and its data after the cluster goes', async () => {
    env.store.create(CLUSTER, cluster('keep', { storage: { size: '1Gi', storageClass: 'retain' } }));
    await waitHealthy(env, 'keep', 60_000);
    const pvName = env.store.get('v1/persistentvolumeclaims', 'default', 'keep-1')!.spec.volumeName;
    const path = env.store.get('v1/persistentvolumes', undefined, pvName)!.spec.hostPath.path;
    env.store.delete(CLUSTER, 'default', 'keep');
    await waitFor('pvc gone', () => !env.store.get('v1/persistentvolumeclaims', 'default', 'keep-1'), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(env.store.get('v1/persistentvolumes', undefined, pvName)).toBeDefined();
    expect(existsSync(`${path}/pgdata/PG_VERSION`)).toBe(true);
    expect(env.api.network.resolve('default', 'keep-1', 5432)).toBeUndefined();
  });
});
