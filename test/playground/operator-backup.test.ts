// Operator emulator: in-tree archiving and backups, recovery (full, from a Backup, PITR by name
// and time), and the archive-safety check, all with real barman-cloud against s3rver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKUP,
  CLUSTER,
  appQuery,
  archiveNow,
  backup,
  cluster,
  inTreeStore,
  jobFinished,
  jobLogs,
  postgresPids,
  recordJob,
  startEnv,
  suQuery,
  waitBackup,
  waitFor,
  waitHealthy,
  type TestEnv,
} from './cnpg/test-env.js';

let env: TestEnv;
let backupId: string;
let afterRestorePoint: string;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
  expect(postgresPids(env.dir)).toBe('');
});

describe('in-tree barmanObjectStore', () => {
  it('archives WAL continuously and completes a Backup', async () => {
    env.store.create(
      CLUSTER,
      cluster('src', { enableSuperuserAccess: true, backup: { barmanObjectStore: inTreeStore(env, 'intree') } }),
    );
    await waitHealthy(env, 'src', 60_000);
    await appQuery(env, 'src', 'CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 100)');
    await archiveNow(env, 'src');
    await waitFor(
      'ContinuousArchiving',
      () =>
        env.store
          .get(CLUSTER, 'default', 'src')
          ?.status.conditions.find((c: any) => c.type === 'ContinuousArchiving' && c.status === 'True'),
      30_000,
    );
    env.store.create(BACKUP, backup('src-b1', 'src'));
    const b = await waitBackup(env, 'src-b1');
    expect(b.status).toMatchObject({
      phase: 'completed',
      method: 'barmanObjectStore',
      serverName: 'src',
      destinationPath: `s3://${env.s3.bucket}/intree`,
      instanceID: { podName: 'src-1' },
    });
    expect(b.status.backupId).toMatch(/^\d{8}T\d{6}$/);
    for (const k of ['beginWal', 'endWal', 'beginLSN', 'endLSN', 'startedAt', 'stoppedAt'])
      expect(b.status[k], k).toBeTruthy();
    backupId = b.status.backupId;
    const c = await waitFor('cluster backup status', () => {
      const x = env.store.get(CLUSTER, 'default', 'src');
      return x?.status.lastSuccessfulBackup ? x : undefined;
    });
    expect(c.status.firstRecoverabilityPoint).toBeTruthy();
    expect(c.status.conditions.find((x: any) => x.type === 'LastBackupSucceeded')).toMatchObject({ status: 'True' });
    // writes after the backup, a named restore point, then more writes
    await appQuery(env, 'src', 'INSERT INTO t SELECT generate_series(101, 150)');
    await suQuery(env, 'src', "SELECT pg_create_restore_point('rp1')");
    await new Promise((r) => setTimeout(r, 1100));
    afterRestorePoint = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await appQuery(env, 'src', 'INSERT INTO t SELECT generate_series(151, 175)');
    await archiveNow(env, 'src');
  });

  it('recovers from externalClusters to the end of the archive, with a fresh -app secret', async () => {
    const t0 = Date.now();
    const rec = recordJob(env, 'rec-full-1-full-recovery');
    env.store.create(
      CLUSTER,
      cluster('rec-full', {
        bootstrap: { recovery: { source: 'origin' } },
        externalClusters: [{ name: 'origin', barmanObjectStore: { ...inTreeStore(env, 'intree'), serverName: 'src' } }],
      }),
    );
    const c = await waitHealthy(env, 'rec-full', 120_000);
    console.log(`small restore Ready in ${Date.now() - t0} ms`);
    expect(c.status.timelineID).toBe(2);
    const rows = await appQuery(env, 'rec-full', 'SELECT count(*)::int AS n FROM t');
    expect(rows[0].n).toBe(175);
    rec.stop();
    const job = rec.job!;
    expect(job.metadata.labels).toMatchObject({
      'cnpg.io/cluster': 'rec-full',
      'cnpg.io/jobRole': 'full-recovery',
      'cnpg.io/instanceName': 'rec-full-1',
    });
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Cluster', name: 'rec-full' });
    expect(rec.log).toContain('redo done');
    const a = env.store.get('v1/secrets', 'default', 'rec-full-app')!;
    const b = env.store.get('v1/secrets', 'default', 'src-app')!;
    expect(a.data.password).not.toBe(b.data.password);
  });

  it('recovers from a Backup CR (backup.name) and to a named restore point', async () => {
    env.store.create(CLUSTER, cluster('rec-bk', { bootstrap: { recovery: { backup: { name: 'src-b1' } } } }));
    const rec = recordJob(env, 'rec-name-1-full-recovery');
    env.store.create(
      CLUSTER,
      cluster('rec-name', {
        bootstrap: { recovery: { source: 'origin', recoveryTarget: { backupID: backupId, targetName: 'rp1' } } },
        externalClusters: [{ name: 'origin', barmanObjectStore: { ...inTreeStore(env, 'intree'), serverName: 'src' } }],
      }),
    );
    await waitHealthy(env, 'rec-bk', 120_000);
    await waitHealthy(env, 'rec-name', 120_000);
    expect((await appQuery(env, 'rec-bk', 'SELECT count(*)::int AS n FROM t'))[0].n).toBe(175);
    expect((await appQuery(env, 'rec-name', 'SELECT count(*)::int AS n FROM t'))[0].n).toBe(150);
    rec.stop();
    expect(rec.log).toContain('recovery stopping at restore point "rp1"');
  });

  it('recovers to a point in time (targetTime)', async () => {
    env.store.create(
      CLUSTER,
      cluster('rec-time', {
        bootstrap: { recovery: { source: 'origin', recoveryTarget: { targetTime: afterRestorePoint } } },
        externalClusters: [{ name: 'origin', barmanObjectStore: { ...inTreeStore(env, 'intree'), serverName: 'src' } }],
      }),
    );
    await waitHealthy(env, 'rec-time', 120_000);
    expect((await appQuery(env, 'rec-time', 'SELECT count(*)::int AS n FROM t'))[0].n).toBe(150);
  });

  it('a recovery cluster archiving into the live path fails with "Expected empty archive"', async () => {
    env.store.create(
      CLUSTER,
      cluster('rec-clash', {
        bootstrap: { recovery: { source: 'origin' } },
        backup: { barmanObjectStore: { ...inTreeStore(env, 'intree'), serverName: 'src' } },
        externalClusters: [{ name: 'origin', barmanObjectStore: { ...inTreeStore(env, 'intree'), serverName: 'src' } }],
      }),
    );
    const job = await jobFinished(env, 'rec-clash-1-full-recovery');
    expect(job.status.conditions.find((c: any) => c.type === 'Failed')).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded',
    });
    expect(jobLogs(env, 'rec-clash-1-full-recovery')).toContain('Expected empty archive');
    const c = await waitFor(
      'phase',
      () => {
        const x = env.store.get(CLUSTER, 'default', 'rec-clash');
        return x?.status.phase === 'Cluster is unrecoverable and needs manual intervention' ? x : undefined;
      },
      10_000,
    );
    expect(c.status.phaseReason).toContain('rec-clash-1-full-recovery');
  });
});
