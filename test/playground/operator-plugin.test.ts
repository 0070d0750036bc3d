// Operator emulator: the Barman Cloud plugin (ObjectStore, plugin archiving, backups and
// recovery) and recovery failures: wrong credentials, no backup, a missing WAL segment, a
// corrupt base backup, injected stalls and failures, and the version-dependent phase.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  BACKUP,
  CLUSTER,
  appQuery,
  archiveNow,
  backup,
  cluster,
  jobFinished,
  jobLogs,
  postgresPids,
  startEnv,
  suQuery,
  waitBackup,
  waitFor,
  waitHealthy,
  type TestEnv,
} from './cnpg/test-env.js';
import { b64 } from './cnpg/context.js';

const PLUGIN = 'barman-cloud.cloudnative-pg.io';
const OBJECTSTORE = 'barmancloud.cnpg.io/v1/objectstores';
let env: TestEnv;
let b1: any;

function objectStore(name: string, path: string, secret = 's3-creds') {
  return {
    apiVersion: 'barmancloud.cnpg.io/v1',
    kind: 'ObjectStore',
    metadata: { name, namespace: 'default' },
    spec: {
      configuration: {
        destinationPath: `s3://${env.s3.bucket}/${path}`,
        endpointURL: env.s3.endpoint,
        s3Credentials: {
          accessKeyId: { name: secret, key: 'ACCESS_KEY_ID' },
          secretAccessKey: { name: secret, key: 'ACCESS_SECRET_KEY' },
        },
      },
    },
  };
}

const pluginSource = (store: string, serverName = 'psrc-srv') => [
  { name: 'origin', plugin: { name: PLUGIN, parameters: { barmanObjectName: store, serverName } } },
];

function recoveryCluster(name: string, store: string, recoveryTarget?: Record<string, unknown>) {
  return cluster(name, {
    bootstrap: { recovery: { source: 'origin', ...(recoveryTarget ? { recoveryTarget } : {}) } },
    externalClusters: pluginSource(store),
  });
}

/** s3rver keeps `<bucket>/<key>._S3rver_object` files. */
function objectFile(key: string) {
  return join(env.s3.directory, env.s3.bucket, `${key}._S3rver_object`);
}

const phase = (name: string) => env.store.get(CLUSTER, 'default', name)?.status?.phase;

beforeAll(async () => {
  env = await startEnv({ version: '1.28.4' });
});
afterAll(async () => {
  await env?.stop();
  expect(postgresPids(env.dir)).toBe('');
});

describe('Barman Cloud plugin', () => {
  it('archives through an ObjectStore and completes a plugin Backup', async () => {
    env.store.create(OBJECTSTORE, objectStore('store', 'plug'));
    env.store.create(
      CLUSTER,
      cluster('psrc', {
        enableSuperuserAccess: true,
        plugins: [
          { name: PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: 'store', serverName: 'psrc-srv' } },
        ],
      }),
    );
    await waitHealthy(env, 'psrc', 60_000);
    await appQuery(env, 'psrc', 'CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 100)');
    await archiveNow(env, 'psrc');
    await waitFor(
      'ContinuousArchiving',
      () =>
        env.store
          .get(CLUSTER, 'default', 'psrc')
          ?.status.conditions.find((c: any) => c.type === 'ContinuousArchiving' && c.status === 'True'),
      30_000,
    );
    env.store.create(BACKUP, backup('pb1', 'psrc', { method: 'plugin', pluginConfiguration: { name: PLUGIN } }));
    b1 = (await waitBackup(env, 'pb1')).status;
    expect(b1).toMatchObject({
      phase: 'completed',
      method: 'plugin',
      serverName: 'psrc-srv',
      destinationPath: `s3://${env.s3.bucket}/plug`,
    });
    const os = await waitFor(
      'recovery window',
      () => env.store.get(OBJECTSTORE, 'default', 'store')?.status?.serverRecoveryWindow?.['psrc-srv'],
    );
    expect(os.lastSuccessfulBackupTime).toBeTruthy();
    expect(os.firstRecoverabilityPoint).toBeTruthy();
    await appQuery(env, 'psrc', 'INSERT INTO t SELECT generate_series(101, 175)');
    await archiveNow(env, 'psrc');
  });

  it('recovers from an externalClusters plugin source', async () => {
    env.store.create(CLUSTER, recoveryCluster('prec', 'store'));
    await waitHealthy(env, 'prec', 120_000);
    expect((await appQuery(env, 'prec', 'SELECT count(*)::int AS n FROM t'))[0].n).toBe(175);
  });
});

describe('recovery failures', () => {
  it('wrong credentials fail the Job; an old operator leaves the phase at "Setting up primary"', async () => {
    env.settings.version = '1.27.1';
    env.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad-creds', namespace: 'default' },
      data: { ACCESS_KEY_ID: b64('nope'), ACCESS_SECRET_KEY: b64('wrong') },
    });
    env.store.create(OBJECTSTORE, objectStore('bad-store', 'plug', 'bad-creds'));
    env.store.create(CLUSTER, recoveryCluster('pcreds', 'bad-store'));
    const job = await jobFinished(env, 'pcreds-1-full-recovery');
    expect(job.status.conditions.find((c: any) => c.type === 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(jobLogs(env, 'pcreds-1-full-recovery')).toMatch(/InvalidAccessKeyId|AccessDenied|Forbidden|403/);
    await new Promise((r) => setTimeout(r, 2500));
    expect(phase('pcreds')).toBe('Setting up primary');
    env.settings.version = '1.28.4';
    await waitFor(
      'unrecoverable',
      () => phase('pcreds') === 'Cluster is unrecoverable and needs manual intervention',
      10_000,
    );
  });

  it('no backup in the source: "no target backup found"', async () => {
    env.store.create(OBJECTSTORE, objectStore('empty-store', 'nothing-here'));
    env.store.create(CLUSTER, recoveryCluster('pnone', 'empty-store'));
    await jobFinished(env, 'pnone-1-full-recovery');
    expect(jobLogs(env, 'pnone-1-full-recovery')).toContain('no target backup found');
    await waitFor(
      'unrecoverable',
      () => phase('pnone') === 'Cluster is unrecoverable and needs manual intervention',
      10_000,
    );
  });

  it('an injected failure and an injected stall', async () => {
    env.settings.failRecovery = { cluster: /^pfail$/, message: 'injected: the restore blew up' };
    env.settings.stallRecovery = /^pstall$/;
    env.store.create(CLUSTER, recoveryCluster('pfail', 'store'));
    env.store.create(CLUSTER, recoveryCluster('pstall', 'store'));
    await jobFinished(env, 'pfail-1-full-recovery');
    expect(jobLogs(env, 'pfail-1-full-recovery')).toContain('injected: the restore blew up');
    await waitFor(
      'stall pod running',
      () =>
        env.store.list('v1/pods', 'default', { labelSelector: 'job-name=pstall-1-full-recovery' }).items[0]?.status
          ?.phase === 'Running',
    );
    await waitFor(
      'replay stalled',
      () => jobLogs(env, 'pstall-1-full-recovery').includes('Waiting for the recovery'),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(phase('pstall')).toBe('Setting up primary');
    const job = env.store.get('batch/v1/jobs', 'default', 'pstall-1-full-recovery')!;
    expect(job.status.conditions ?? []).toEqual([]);
    env.store.delete(CLUSTER, 'default', 'pstall');
    await waitFor(
      'stalled job pod gone',
      () =>
        env.store.list('v1/pods', 'default', { labelSelector: 'job-name=pstall-1-full-recovery' }).items.length === 0,
      20_000,
    );
  });
  it('a WAL segment missing before the target fails the replay for real', async () => {
    await suQuery(env, 'psrc', "SELECT pg_create_restore_point('late')");
    await archiveNow(env, 'psrc');
    // the segment right after the backup's end is gone from the bucket
    const endSeg: string = b1.endWal;
    const next = (parseInt(endSeg.slice(16), 16) + 1).toString(16).toUpperCase().padStart(8, '0');
    const seg = endSeg.slice(0, 16) + next;
    const file = objectFile(`plug/psrc-srv/wals/${seg.slice(0, 16)}/${seg}`);
    expect(statSync(file).size).toBeGreaterThan(0);
    rmSync(file);
    rmSync(file.replace('_S3rver_object', '_S3rver_metadata.json'), { force: true });
    env.store.create(CLUSTER, recoveryCluster('pwal', 'store', { backupID: b1.backupId, targetName: 'late' }));
    await jobFinished(env, 'pwal-1-full-recovery');
    expect(jobLogs(env, 'pwal-1-full-recovery')).toContain(
      'recovery ended before configured recovery target was reached',
    );
  });

  it('a corrupt base backup fails barman-cloud-restore', async () => {
    const dir = join(env.s3.directory, env.s3.bucket, 'plug', 'psrc-srv', 'base', b1.backupId);
    const tar = readdirSync(dir).find((f) => f.startsWith('data.tar') && f.endsWith('_S3rver_object'))!;
    writeFileSync(join(dir, tar), Buffer.alloc(statSync(join(dir, tar)).size, 0x5a));
    env.store.create(CLUSTER, recoveryCluster('pcorrupt', 'store', { backupID: b1.backupId }));
    await jobFinished(env, 'pcorrupt-1-full-recovery');
    const log = jobLogs(env, 'pcorrupt-1-full-recovery');
    expect(log).toContain('barman-cloud-restore exited with status');
    expect(log).toMatch(/tar|ERROR/i);
  });
});
