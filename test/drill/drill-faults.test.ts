// The fault matrix: each fault caught with its own reason, the step failed with one line per
// reason, the result recorded, and nothing left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { CLUSTERS, createLiveCluster, waitFor, type LiveCluster } from '../helpers/live-cluster.js';
import { leakedSecrets } from '../helpers/run-action.js';
import { corruptBaseBackup, deleteWal } from './archive.js';
import { drillClusters, explain, leftovers, runDrill, writes } from './support.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;

beforeAll(async () => {
  pgd = await startPlayground();
  pgd.operator.settings.jobBackoffLimit = 0;
  live = await createLiveCluster(pgd, { name: 'fx', rows: 1000 });
});
afterAll(async () => {
  await pgd?.stop();
});

function expectFailed(r: Awaited<ReturnType<typeof runDrill>>, reason: RegExp) {
  expect(r.exitCode, explain(r)).toBe(1);
  expect(r.outputs.result).toBe('failed');
  expect(r.errors.join('\n')).toMatch(reason);
  expect(r.summary.split('\n')[0]).toMatch(/Restore drill FAILED/);
  if (r.outputs['recovery-cluster']) expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  expect(leakedSecrets(r, live.secrets())).toEqual([]);
}

describe('fails early, creating nothing', () => {
  it('no completed backup', async () => {
    const nb = await createLiveCluster(pgd, { name: 'nobackup', rows: 10, backup: false });
    const since = Date.now();
    const r = await runDrill(pgd, { cluster: 'nobackup', namespace: 'default', 'record-history': false });
    expectFailed(r, /restore drill failed: no completed backup: 0 Backup\(s\) found/);
    expect(writes(pgd, since)).toEqual([]);
    await nb.destroy();
  });

  it('newest backup older than max-backup-age', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const r = await runDrill(pgd, { cluster: 'fx', namespace: 'default', 'max-backup-age': '1s' });
    expectFailed(r, /newest completed backup fx-backup-1-\w+ is \d+s old, older than max-backup-age 1s/);
    expect(r.outputs['recovery-cluster']).toBe('');
    const drills = JSON.parse(pgd.store.get('v1/configmaps', 'default', 'cnpg-restore-drill-fx')!.data.drills);
    expect(drills.at(-1)).toMatchObject({
      verdict: 'failed',
      reasons: [expect.stringMatching(/older than max-backup-age/)],
    });
  });

  it('WAL archiving failing', async () => {
    const arch = await createLiveCluster(pgd, { name: 'arch', rows: 10 });
    // Point archiving at a Secret that does not exist: every archive attempt fails from now on.
    pgd.store.mutate(CLUSTERS, 'default', 'arch', (c) => {
      c.spec.backup.barmanObjectStore.s3Credentials.secretAccessKey = { name: 'gone', key: 'KEY' };
    });
    await arch.sql('CREATE TABLE t AS SELECT 1 AS i').catch(() => {});
    await arch.superSql('SELECT pg_switch_wal()');
    await waitFor(
      'archiving failing',
      () =>
        pgd.store
          .get(CLUSTERS, 'default', 'arch')
          ?.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'ContinuousArchiving')
          ?.status === 'False',
      60_000,
      250,
    );
    const r = await runDrill(pgd, { cluster: 'arch', namespace: 'default', 'record-history': false });
    expectFailed(r, /WAL archiving is failing/);
    expect(r.outputs['recovery-cluster']).toBe('');
    await arch.destroy();
  });
});

describe('recovery failures, caught from the recovery Job', () => {
  it('a WAL segment the backup needs is missing from the archive', async () => {
    const wl = await createLiveCluster(pgd, { name: 'walgap', rows: 10 });
    const b = pgd.store
      .list('postgresql.cnpg.io/v1/backups', 'default')
      .items.find((x) => x.spec.cluster.name === 'walgap')!;
    deleteWal(pgd, wl, b.status.beginWal);
    const t0 = Date.now();
    const r = await runDrill(pgd, { cluster: 'walgap', namespace: 'default', 'record-history': false });
    expectFailed(r, /recovery job walgap-drill-\d+-1-1-full-recovery failed.*first needed WAL/);
    console.log(`missing WAL: failed in ${Date.now() - t0} ms`);
    await wl.destroy();
  });

  it('a corrupt base backup', async () => {
    const cb = await createLiveCluster(pgd, { name: 'corrupt', rows: 10 });
    const b = pgd.store
      .list('postgresql.cnpg.io/v1/backups', 'default')
      .items.find((x) => x.spec.cluster.name === 'corrupt')!;
    corruptBaseBackup(pgd, cb, b.status.backupId);
    const r = await runDrill(pgd, { cluster: 'corrupt', namespace: 'default', 'record-history': false });
    expectFailed(r, /recovery job corrupt-drill-\d+-1-1-full-recovery failed/);
    console.log(r.errors.join('\n'));
    await cb.destroy();
  });

  it('wrong object-store credentials', async () => {
    const wc = await createLiveCluster(pgd, { name: 'creds', namespace: 'creds', rows: 10 });
    // The archiver keeps the credentials it started with; a new reader (the recovery) gets the wrong ones.
    // (s3rver does not verify SigV4 signatures, only the access key id: change that.)
    pgd.store.mutate('v1/secrets', 'creds', pgd.env.PLAYGROUND_S3_SECRET, (s) => {
      s.data = { ...s.data, ACCESS_KEY_ID: Buffer.from('WRONGKEY').toString('base64') };
      delete s.stringData;
    });
    const r = await runDrill(pgd, { cluster: 'creds', namespace: 'creds', 'record-history': false });
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /recovery job creds-drill-\d+-1-1-full-recovery failed.*(InvalidAccessKeyId|barman-cloud-backup-list failed)/,
    );
    console.log(r.errors.join('\n'));
    expect(drillClusters(pgd, 'creds')).toEqual([]);
    await wc.destroy();
  });

  for (const version of ['1.27.0', '1.30.0']) {
    it(`operator ${version}: a failing recovery Job fails the drill at once with the pod's log`, async () => {
      pgd.operator.settings.version = version;
      pgd.operator.settings.failRecovery = {
        cluster: /^fx-drill-/,
        message: 'barman-cloud-restore: ERROR: simulated restore failure',
      };
      try {
        const t0 = Date.now();
        const r = await runDrill(pgd, { cluster: 'fx', namespace: 'default', timeout: '3m' });
        expectFailed(r, /simulated restore failure/);
        if (version === '1.27.0') expect(r.stdout).not.toMatch(/phase: Cluster is unrecoverable/);
        expect(Date.now() - t0).toBeLessThan(60_000);
        console.log(`operator ${version}: failed recovery noticed, drill failed in ${Date.now() - t0} ms`);
      } finally {
        pgd.operator.settings.failRecovery = undefined;
        pgd.operator.settings.version = '1.30.0';
      }
    });
  }

  it('a stalled recovery fails at the timeout, not later', async () => {
    pgd.operator.settings.stallRecovery = /^fx-drill-/;
    try {
      const t0 = Date.now();
      const r = await runDrill(pgd, { cluster: 'fx', namespace: 'default', timeout: '8s', 'record-history': false });
      expectFailed(r, /was not healthy within the timeout/);
      expect(Date.now() - t0).toBeLessThan(40_000);
    } finally {
      pgd.operator.settings.stallRecovery = undefined;
    }
  });
});

describe('a recovery that cannot start', () => {
  it('fails within a minute naming what is missing (its ServiceAccount is gone), not at the timeout', async () => {
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'irsa-backup', namespace: 'default' } };
    pgd.store.create('v1/serviceaccounts', sa);
    const withSa = await createLiveCluster(pgd, { name: 'sa', rows: 10, spec: { serviceAccountName: 'irsa-backup' } });
    pgd.store.delete('v1/serviceaccounts', 'default', 'irsa-backup');
    try {
      const t0 = Date.now();
      const r = await runDrill(pgd, { cluster: 'sa', namespace: 'default', timeout: '20m', 'record-history': false });
      expect(r.exitCode, explain(r)).toBe(1);
      // The recovery site's fault, not the backup's: a drill error, never a failed backup.
      expect(r.outputs.result, explain(r)).toBe('error');
      expect(r.errors.join('\n')).toMatch(
        /recovery cluster sa-drill-\d+-1 could not start its restore within \d+ s: the operator created neither the recovery Job sa-drill-\d+-1-1-full-recovery nor the instance pod sa-drill-\d+-1-1 \(cluster phase 'Unable to create required cluster objects': serviceAccount "irsa-backup" not found/,
      );
      expect(r.errors.join('\n')).toContain('ServiceAccountNotFound: Specified ServiceAccount "irsa-backup" not found');
      expect(Date.now() - t0).toBeLessThan(120_000);
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    } finally {
      await withSa.destroy();
    }
  });
});

describe('the restore differs from live', () => {
  it('schema drift: a table and a column missing in the restore', async () => {
    // The archive loses its tail: the segment holding the DDL is gone, so the restore ends before it.
    await live.sql('CREATE TABLE public.drift_only (i int PRIMARY KEY)');
    await live.sql('ALTER TABLE public.customers ADD COLUMN vip boolean');
    const seg = await live.switchWalAndWait();
    deleteWal(pgd, live, seg);
    const r = await runDrill(pgd, { cluster: 'fx', namespace: 'default' });
    expectFailed(r, /database app: \d+ schema difference\(s\):.*table public\.drift_only missing in the restore/);
    expect(r.errors.join('\n')).toMatch(/column public\.customers\.vip missing in the restore/);
    expect(Number(r.outputs['schema-differences'])).toBeGreaterThanOrEqual(2);
    expect(r.summary).toContain('| missing in restore | table | public.drift_only |');
    expect(Number(r.outputs['rpo-bytes'])).toBeGreaterThan(0);
  });

  it('rows lost beyond tolerance in one table', async () => {
    await live.backup(); // a base backup after the lost segment, so only the next loss matters
    await live.sql(`INSERT INTO public.events (kind, payload) SELECT 'bulk', '{}' FROM generate_series(1, 3000)`);
    const seg = await live.switchWalAndWait();
    deleteWal(pgd, live, seg);
    const r = await runDrill(pgd, { cluster: 'fx', namespace: 'default' });
    expectFailed(
      r,
      /database app: 1 table\(s\) out of row-count tolerance: public\.events live 3500 vs restored 500 \(allowed ±350\)/,
    );
    expect(r.outputs['schema-differences']).toBe('0');
    expect(r.outputs['tables-out-of-tolerance']).toBe('1');
  });
});
