// Pure parts of the drill: inputs, live spec, manifest, inventory, RPO maths, history, report, Slack.
import { describe, expect, it } from 'vitest';
import { recordingCore } from '../helpers/recording-core.js';
import { readDrillInputs, parseResources } from '../../actions/lib/drill/inputs.js';
import { unmatchedSensitiveNotes } from '../../actions/lib/drill/content-phase.js';
import { detectBackupMode, LiveSpecError, readLiveSpec } from '../../actions/lib/drill/live-spec.js';
import {
  DRILL_SELECTOR,
  recoveryClusterManifest,
  MAX_RECOVERY_NAME,
  recoveryClusterName,
} from '../../actions/lib/drill/recovery-manifest.js';
import { assessInventory, type BackupRow } from '../../actions/lib/drill/inventory.js';
import { computeRpo, lastSwitchPoint, lsnDiff, parseLsn, replayFromRecoveryLog } from '../../actions/lib/drill/rpo.js';
import { appendRecord, parseHistory, type DrillRecord } from '../../actions/lib/drill/record.js';
import { renderReport } from '../../actions/lib/drill/report.js';
import { drillSlackMessage, shouldNotify } from '../../actions/lib/drill/slack.js';
import { expiredDrillClusters } from '../../actions/lib/drill/sweep.js';
import { segmentArchived } from '../../actions/lib/drill/restore-point.js';
import { comparisonReasons } from '../../actions/lib/drill/compare.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import type { Cluster, ObjectStore } from '../../actions/lib/cnpg/types.js';

const base = { cluster: 'pg-main', namespace: 'db' };
const inputsOf = (extra: Record<string, string>) => readDrillInputs(recordingCore({ ...base, ...extra }).core);

describe('inputs', () => {
  it('defaults', () => {
    const i = inputsOf({});
    expect(i).toMatchObject({
      cluster: 'pg-main',
      namespace: 'db',
      connectionMode: 'port-forward',
      liveCounts: 'auto',
      liveExactMaxBytes: 256 * 1024 ** 2,
      verify: 'amcheck',
      tolerance: 0.1,
      floor: 10,
      restorePoint: false,
      timeoutMs: 1_800_000,
      sweepTtlMs: 6 * 3_600_000,
      recordHistory: true,
      historySize: 20,
    });
    expect(i.maxBackupAgeMs).toBe(8 * 86_400_000);
    expect(i.slack.on).toBe('failure');
  });
  it.each([
    [{ cluster: '' }, "Input 'cluster': is required"],
    [{ namespace: '' }, "Input 'namespace': is required"],
    [{ cluster: 'Bad_Name' }, "Input 'cluster': 'Bad_Name' is not a valid Kubernetes name"],
    [{ 'row-count-tolerance': '1.5' }, "Input 'row-count-tolerance': '1.5' is not a number between 0 and 1"],
    [{ 'live-counts': 'fast' }, "Input 'live-counts': 'fast' is not one of: auto, exact, estimate, replica"],
    [
      { 'count-mode': 'exact' },
      "Input 'count-mode': was replaced: the restore is always counted in full; choose how live is counted with live-counts (auto, exact, estimate or replica).",
    ],
    [
      { 'live-exact-max-size': '1GB' },
      "Input 'live-exact-max-size': '1GB' is not a size; use e.g. 256Mi, 1Gi or a number of bytes.",
    ],
    [{ verify: 'yes' }, "Input 'verify': 'yes' is not one of: amcheck, heap, off"],
    [{ 'max-backup-age': 'soon' }, "Input 'max-backup-age': 'soon' is not a duration"],
    [{ timeout: '0s' }, "Input 'timeout': must be longer than zero"],
    [{ 'connection-mode': 'ssh' }, "Input 'connection-mode'"],
    [{ 'slack-bot-token': 'xoxb-1' }, "Input 'slack-channel': is required with slack-bot-token"],
    [
      { 'recovery-resources': '{requests: {cpu: lots}}' },
      "Input 'recovery-resources': 'requests.cpu' = 'lots' is not a Kubernetes quantity",
    ],
    [{ 'count-concurrency': '0' }, "Input 'count-concurrency'"],
  ])('rejects %o', (extra, message) => {
    expect(() => inputsOf(extra as Record<string, string>)).toThrow(message);
  });
  it('content-sensitive-keys: names resolved as PostgreSQL does (unquoted: lower case; "quoted": as written)', () => {
    const keys = 'public.Customers, "Sales"."Big ""Orders"""\nBilling."Accounts", app_2.t$1';
    expect(inputsOf({ 'content-sensitive-keys': keys }).contentSensitiveKeys).toEqual([
      { schema: 'public', name: 'customers' },
      { schema: 'Sales', name: 'Big "Orders"' },
      { schema: 'billing', name: 'Accounts' },
      { schema: 'app_2', name: 't$1' },
    ]);
    for (const bad of ['customers', 'a.b.c', '"open.t', 'public.', '1x.t'])
      expect(() => inputsOf({ 'content-sensitive-keys': bad })).toThrow(
        `Input 'content-sensitive-keys': '${bad}' is not schema.table`,
      );
  });
  it('content-sensitive-keys naming no compared table: a note each, never silence', () => {
    const content = (...names: string[]) => ({
      digests: names.map((name) => ({ schema: 'public', name, rows: 1, sum: '1', ms: 1 })),
      capped: [{ schema: 'public', name: 'big', bytes: 1 }],
    });
    const notes = unmatchedSensitiveNotes(
      [
        { schema: 'public', name: 'customers' },
        { schema: 'public', name: 'big' },
        { schema: 'public', name: 'Customers' },
        { schema: 'public', name: 'gone' },
      ],
      [
        { database: 'app', content: content('customers') },
        { database: 'other', content: content() },
      ],
    );
    expect(notes).toEqual([
      expect.stringMatching(
        /^content-sensitive-keys: public."Customers" matches no table in the compared databases \(app, other\)/,
      ),
      expect.stringMatching(/^content-sensitive-keys: public.gone matches no table/),
    ]);
  });
  it('parses resources as JSON or YAML and masks slack secrets', () => {
    expect(parseResources('{"requests":{"cpu":"500m","memory":"1Gi"}}')).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
    });
    expect(parseResources('limits:\n  memory: 2Gi')).toEqual({ limits: { memory: '2Gi' } });
    const { core, rec } = recordingCore({
      ...base,
      'slack-webhook-url': 'https://hooks.example/x',
      databases: 'app, other',
    });
    expect(readDrillInputs(core).databases).toEqual(['app', 'other']);
    expect(rec.secrets).toContain('https://hooks.example/x');
  });
});

const inTree = (over: Partial<Cluster['spec']> = {}): Cluster => ({
  apiVersion: 'postgresql.cnpg.io/v1',
  kind: 'Cluster',
  metadata: { name: 'pg-main', namespace: 'db' },
  spec: {
    instances: 3,
    imageName: 'ghcr.io/cloudnative-pg/postgresql:15',
    storage: { size: '10Gi', storageClass: 'fast' },
    postgresql: { parameters: { max_connections: '200', work_mem: '8MB', max_wal_senders: '12' } },
    serviceAccountTemplate: { metadata: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:x' } } },
    bootstrap: { initdb: { database: 'shop', owner: 'shopper' } },
    backup: {
      barmanObjectStore: {
        destinationPath: 's3://backups/pg',
        endpointURL: 'http://s3',
        serverName: 'pg-main-v2',
        s3Credentials: { accessKeyId: { name: 's3', key: 'ID' }, secretAccessKey: { name: 's3', key: 'KEY' } },
      },
    },
    ...over,
  },
  status: { image: 'ghcr.io/cloudnative-pg/postgresql:15.8' },
});

const plugin = (): Cluster => {
  const c = inTree({
    backup: undefined,
    plugins: [
      { name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true, parameters: { barmanObjectName: 'store' } },
    ],
  });
  return c;
};
const store = (): ObjectStore => ({
  apiVersion: 'barmancloud.cnpg.io/v1',
  kind: 'ObjectStore',
  metadata: { name: 'store', namespace: 'db' },
  spec: {
    configuration: {
      destinationPath: 's3://backups/p',
      s3Credentials: { accessKeyId: { name: 's3', key: 'ID' }, secretAccessKey: { name: 's3', key: 'KEY' } },
    },
  },
});

describe('live spec', () => {
  it('reads an in-tree cluster: explicit server name, enforced parameters only, status image', () => {
    const c = inTree();
    const spec = readLiveSpec(c, detectBackupMode(c));
    expect(spec).toMatchObject({
      mode: 'in-tree',
      serverName: 'pg-main-v2',
      imageName: 'ghcr.io/cloudnative-pg/postgresql:15.8',
      database: 'shop',
      owner: 'shopper',
      storage: { size: '10Gi', storageClass: 'fast' },
    });
    expect(spec.parameters).toEqual({ max_connections: '200', max_wal_senders: '12' });
    expect(spec.store.serverName).toBeUndefined();
  });
  it('reads a plugin cluster: server name defaults to the live cluster name', () => {
    const c = plugin();
    const mode = detectBackupMode(c);
    expect(mode).toMatchObject({ mode: 'plugin', objectStoreName: 'store' });
    const spec = readLiveSpec(c, mode, store());
    expect(spec).toMatchObject({
      mode: 'plugin',
      serverName: 'pg-main',
      plugin: { barmanObjectName: 'store' },
      store: { destinationPath: 's3://backups/p' },
    });
  });
  it('names the missing field', () => {
    const c = plugin();
    c.spec.plugins![0].parameters = {};
    expect(() => detectBackupMode(c)).toThrow('spec.plugins[0].parameters.barmanObjectName is missing');
    const none = inTree({ backup: undefined });
    expect(() => detectBackupMode(none)).toThrow(/neither spec.backup.barmanObjectStore/);
    const noPath = inTree();
    noPath.spec.backup!.barmanObjectStore!.destinationPath = '';
    expect(() => readLiveSpec(noPath, detectBackupMode(noPath))).toThrow(
      'spec.backup.barmanObjectStore.destinationPath is missing',
    );
    const p = plugin();
    expect(() => readLiveSpec(p, detectBackupMode(p), undefined)).toThrow(
      'ObjectStore db/store (named by spec.plugins[].parameters.barmanObjectName) does not exist',
    );
    const noSize = inTree({ storage: {} });
    try {
      readLiveSpec(noSize, detectBackupMode(noSize));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LiveSpecError);
      expect((err as LiveSpecError).problems).toEqual([expect.stringContaining('spec.storage.size is missing')]);
    }
  });
});

describe('recovery manifest', () => {
  it('names short enough for the recovery Job CNPG derives (63: hostname, label value), DNS-1035', () => {
    expect(recoveryClusterName('pg-main', '4242', '1')).toBe('pg-main-drill-4242-1');
    // A 50-character live name (the most CNPG's webhook accepts) and a GitHub-sized run id.
    const source = 'a-very-long-cluster-name-that-goes-on-and-on-foreve';
    const long = recoveryClusterName(source.slice(0, 50), '12345678901234', '3');
    expect(MAX_RECOVERY_NAME).toBe(47);
    expect(long.length).toBeLessThanOrEqual(47);
    expect(`${long}-1-full-recovery`.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(long.endsWith('-drill-12345678901234-3')).toBe(true);
    expect(recoveryClusterName('x', '9'.repeat(60), '1').length).toBeLessThanOrEqual(47);
  });
  it('is isolated (no backup, no plugins), labelled, and carries what recovery needs', () => {
    const c = inTree();
    const m = recoveryClusterManifest(readLiveSpec(c, detectBackupMode(c)), {
      name: 'pg-main-drill-1-1',
      runId: '1',
      createdAt: new Date('2026-01-01T00:00:00Z'),
      storageClass: 'cheap',
      resources: { requests: { cpu: '1' } },
    });
    expect(m.spec.backup).toBeUndefined();
    expect(m.spec.plugins).toBeUndefined();
    expect(m.spec.instances).toBe(1);
    expect(m.metadata.labels).toEqual({
      'cnpg-actions.io/drill-of': 'pg-main',
      'app.kubernetes.io/managed-by': 'cnpg-restore-drill',
      'cnpg-actions.io/drill-run': '1',
    });
    expect(m.metadata.annotations?.['cnpg-actions.io/created-at']).toBe('2026-01-01T00:00:00.000Z');
    expect(m.spec.storage).toEqual({ size: '10Gi', storageClass: 'cheap' });
    expect(m.spec.postgresql?.parameters).toEqual({ max_connections: '200', max_wal_senders: '12' });
    expect(m.spec.serviceAccountTemplate).toEqual(c.spec.serviceAccountTemplate);
    expect(m.spec.bootstrap?.recovery).toEqual({ source: 'pg-main', database: 'shop', owner: 'shopper' });
    expect(m.spec.externalClusters?.[0].barmanObjectStore).toMatchObject({
      destinationPath: 's3://backups/pg',
      serverName: 'pg-main-v2',
    });
    expect(m.spec.enableSuperuserAccess).toBe(true);
    expect(DRILL_SELECTOR).toBe('app.kubernetes.io/managed-by=cnpg-restore-drill,cnpg-actions.io/drill-of');
  });
  it('plugin mode recovers through the plugin with an explicit server name and a restore point target', () => {
    const c = plugin();
    const m = recoveryClusterManifest(readLiveSpec(c, detectBackupMode(c), store()), {
      name: 'x',
      runId: '1',
      createdAt: new Date(),
      recoveryTarget: { targetName: 'x', backupID: '20260101T000000' },
    });
    expect(m.spec.externalClusters?.[0]).toEqual({
      name: 'pg-main',
      plugin: {
        name: 'barman-cloud.cloudnative-pg.io',
        parameters: { barmanObjectName: 'store', serverName: 'pg-main' },
      },
    });
    expect(m.spec.bootstrap?.recovery?.recoveryTarget).toEqual({ targetName: 'x', backupID: '20260101T000000' });
    expect(m.spec.plugins).toBeUndefined();
  });
});

const row = (name: string, phase: string, stoppedAt?: string, error?: string): BackupRow => ({
  name,
  phase,
  method: 'barmanObjectStore',
  stoppedAt,
  startedAt: stoppedAt,
  backupId: `id-${name}`,
  error,
});

describe('inventory', () => {
  const now = new Date('2026-01-10T00:00:00Z');
  const cluster = inTree();
  it('passes with a fresh completed backup and healthy archiving', () => {
    const inv = assessInventory(
      [row('b2', 'failed', undefined, 'boom'), row('b1', 'completed', '2026-01-09T00:00:00Z')],
      cluster,
      {
        archivedCount: 5,
        failedCount: 1,
        lastArchivedTime: '2026-01-09T23:59:00Z',
        lastFailedTime: '2026-01-01T00:00:00Z',
        now: now.toISOString(),
      },
      { now, maxBackupAgeMs: 2 * 86_400_000 },
    );
    expect(inv.problems).toEqual([]);
    expect(inv.newest?.name).toBe('b1');
    expect(inv.newestAgeMs).toBe(86_400_000);
    expect(inv.archiving.lastArchivedAgeMs).toBe(60_000);
  });
  it('fails for no completed backup, an old backup, failing archiving', () => {
    expect(
      assessInventory([row('b', 'failed', undefined, 'no creds')], cluster, undefined, { now, maxBackupAgeMs: 1 })
        .problems[0],
    ).toMatch(/^no completed backup: 1 Backup\(s\) found, latest failure b: no creds/);
    expect(
      assessInventory([row('b', 'completed', '2026-01-01T00:00:00Z')], cluster, undefined, {
        now,
        maxBackupAgeMs: 86_400_000,
      }).problems[0],
    ).toMatch(/newest completed backup b is 9d 0h old, older than max-backup-age 24h 0m/);
    const failing = assessInventory(
      [row('b', 'completed', '2026-01-09T23:00:00Z')],
      cluster,
      {
        archivedCount: 1,
        failedCount: 3,
        lastArchivedWal: '000000010000000000000003',
        lastArchivedTime: '2026-01-09T00:00:00Z',
        lastFailedWal: '000000010000000000000004',
        lastFailedTime: '2026-01-09T23:50:00Z',
        now: now.toISOString(),
      },
      { now, maxBackupAgeMs: 86_400_000 },
    );
    expect(failing.problems).toEqual([
      expect.stringMatching(/^WAL archiving is failing: pg_stat_archiver last failed 000000010000000000000004/),
    ]);
    const cond = inTree();
    cond.status!.conditions = [
      { type: 'ContinuousArchiving', status: 'False', reason: 'ContinuousArchivingFailing', message: 'access denied' },
    ];
    expect(
      assessInventory([row('b', 'completed', '2026-01-09T23:00:00Z')], cond, undefined, {
        now,
        maxBackupAgeMs: 86_400_000,
      }).problems[0],
    ).toBe('WAL archiving is failing: condition ContinuousArchiving=False (ContinuousArchivingFailing: access denied)');
  });
});

describe('RPO', () => {
  it('LSN maths', () => {
    expect(parseLsn('1/0')).toBe(2n ** 32n);
    expect(lsnDiff('0/3000000', '0/2000000')).toBe(16 * 1024 * 1024);
    expect(lastSwitchPoint('1\t0/3000100\tno recovery target specified\n\n2\t0/5000000\tat restore point "x"\n')).toBe(
      '0/5000000',
    );
  });
  it('seconds from the last replayed commit; zero when nothing later on live', () => {
    const live = { lsn: '0/5000000', at: '2026-01-01T00:01:00Z' };
    expect(computeRpo(live, { lsn: '0/4000000', lastCommitAt: '2026-01-01T00:00:30Z', source: 't' })).toMatchObject({
      seconds: 30,
      bytes: 16 * 1024 * 1024,
    });
    expect(computeRpo(live, { lsn: '0/5000000', lastCommitAt: '2026-01-01T00:00:30Z', source: 't' })).toMatchObject({
      seconds: 0,
      bytes: 0,
    });
    expect(
      computeRpo(
        { ...live, lastCommitAt: '2026-01-01T00:00:10Z' },
        { lsn: '0/4000000', lastCommitAt: '2026-01-01T00:00:30Z', source: 't' },
      ),
    ).toMatchObject({ seconds: 0 });
    const fb = computeRpo(
      live,
      { lsn: '0/4000000', source: 't' },
      { at: '2026-01-01T00:00:00Z', what: 'the restore point' },
    );
    expect(fb.seconds).toBe(60);
    expect(fb.explanation).toMatch(/upper bound/);
    expect(computeRpo(live, { source: 'unavailable' }).seconds).toBeUndefined();
  });
  it('restore point segment archived', () => {
    expect(segmentArchived('000000010000000000000005', '000000010000000000000005')).toBe(true);
    expect(segmentArchived('000000010000000000000004', '000000010000000000000005')).toBe(false);
    expect(segmentArchived(undefined, '000000010000000000000005')).toBe(false);
  });
});

describe('history, sweep', () => {
  const rec = (i: number): DrillRecord => ({
    time: `2026-01-0${i}T00:00:00Z`,
    verdict: 'passed',
    reasons: [],
    rtoSeconds: 1,
    rpoSeconds: 0,
    backupId: null,
    recoveryCluster: `c${i}`,
    runUrl: null,
  });
  it('bounded, newest last, idempotent on retry', () => {
    let h: DrillRecord[] = [];
    for (let i = 1; i <= 5; i++) h = appendRecord(h, rec(i), 3);
    expect(h.map((r) => r.recoveryCluster)).toEqual(['c3', 'c4', 'c5']);
    expect(appendRecord(h, rec(5), 3).map((r) => r.recoveryCluster)).toEqual(['c3', 'c4', 'c5']);
    expect(parseHistory(JSON.stringify(h))).toEqual(h);
    expect(parseHistory('not json')).toEqual([]);
  });
  it('sweeps only expired clusters carrying the drill labels', () => {
    const mk = (name: string, created: string, labels: Record<string, string>): Cluster => ({
      apiVersion: 'v',
      kind: 'Cluster',
      metadata: { name, labels, annotations: { 'cnpg-actions.io/created-at': created } },
      spec: {},
    });
    const drill = { 'app.kubernetes.io/managed-by': 'cnpg-restore-drill', 'cnpg-actions.io/drill-of': 'pg' };
    const now = Date.parse('2026-01-01T12:00:00Z');
    const out = expiredDrillClusters(
      [
        mk('old', '2026-01-01T00:00:00Z', drill),
        mk('fresh', '2026-01-01T11:00:00Z', drill),
        mk('foreign', '2026-01-01T00:00:00Z', { 'app.kubernetes.io/managed-by': 'me' }),
        mk('mine', '2026-01-01T00:00:00Z', drill),
      ],
      now,
      6 * 3_600_000,
      'mine',
    );
    expect(out.map((c) => c.metadata.name)).toEqual(['old']);
  });
});

describe('report and Slack', () => {
  const result: DrillResult = {
    verdict: 'failed',
    reasons: ['database app: 1 schema difference(s): table public.orders missing in the restore'],
    cluster: 'pg-main',
    namespace: 'db',
    mode: 'plugin',
    recoveryCluster: 'pg-main-drill-1-1',
    backupId: '20260101T000000',
    phases: [{ phase: 'baseline', ms: 1234 }],
    rtoSeconds: 12.5,
    recoveryPhases: { jobRunningS: 1, jobDoneS: 9, readyS: 12.5 },
    rpo: { seconds: 3, bytes: 1024, explanation: 'measured.' },
    tolerance: { tolerance: 0.1, floor: 10 },
    databases: [
      {
        database: 'app',
        tablesCompared: 2,
        schemaDifferences: [
          { kind: 'missing', objectType: 'table', name: 'public.orders', detail: 'table public.orders' },
        ],
        outOfTolerance: [
          {
            schema: 'public',
            table: 'items',
            live: 1000,
            other: 10,
            allowed: 100,
            liveSource: 'n_live_tup',
            otherSource: 'count',
            within: false,
          },
        ],
        counts: [],
        liveCounted: { on: 'primary', exact: 2, nLiveTup: 1, reltuples: 0 },
        restoreRead: { tables: 3, failed: 0, ms: 4200 },
      },
    ],
    counting: { live: 'auto', liveExactMaxBytes: 256 * 1024 ** 2, verify: 'amcheck' },
    verifications: [
      {
        database: 'app',
        mode: 'amcheck',
        amcheckVersion: '1.3',
        checksums: { enabled: true, failures: 0 },
        ms: 800,
        relations: [
          {
            kind: 'table',
            schema: 'public',
            name: 'items',
            check: 'verify_heapam',
            bytes: 8192,
            ms: 3,
            corruption: [],
          },
          {
            kind: 'index',
            schema: 'public',
            name: 'Items_pkey',
            check: 'bt_index_parent_check',
            bytes: 16384,
            ms: 2,
            corruption: ['index "Items_pkey" ... item order invariant violated'],
          },
        ],
      },
    ],
    teardown: { cluster: 'x', clean: true, leftovers: [], ms: 900 },
    notes: [],
    runUrl: 'https://github.com/o/r/actions/runs/1',
    startedAt: '2026-01-01T00:00:00Z',
  };
  it('report: verdict first, RTO/RPO, inventory, differences, out of tolerance', () => {
    const text = renderReport(result);
    expect(text.split('\n')[0]).toBe('## ❌ Restore drill FAILED: db/pg-main');
    expect(text).toContain('| **RTO (recovery cluster created -> healthy)** | 12.5 s (13s) |');
    expect(text).toContain('| missing in restore | table | public.orders |');
    expect(text).toContain('| public.items | 1000 | estimate: pg_stat_user_tables.n_live_tup | 10 | -990 | 100 |');
    expect(text).toContain(
      'Live counted on the primary: 2 exact (count(*)), 1 estimated from pg_stat_user_tables.n_live_tup, 0 from pg_class.reltuples. Restore read in full: 3 tables counted with count(*) in 4.2 s.',
    );
    expect(text).toContain('### Verification of `app`: amcheck 1.3, 1 relation(s) with problems');
    expect(text).toContain(
      '1 tables checked with verify_heapam (heap and TOAST); 1 B-tree indexes checked (1 with bt_index_parent_check, 0 with bt_index_check), in 800 ms; data checksums on: 0 page checksum failure(s)',
    );
    expect(text).toContain(
      '| index public."Items_pkey" | bt_index_parent_check | index "Items_pkey" ... item order invariant violated |',
    );
    expect(text).toMatch(/- Live estimate from pg_stat_user_tables\.n_live_tup: .* Use live-counts: replica/);
    expect(text).toContain(
      '- live-counts auto: exact below 256.0 MiB per table (live-exact-max-size), estimated above.',
    );
    expect(text).toContain('clean, verified in 900 ms');
    expect(comparisonReasons(result.databases[0])[1]).toBe(
      'database app: 1 table(s) out of row-count tolerance: public.items live 1000 (estimate, n_live_tup) vs restored 10 (allowed ±100)',
    );
  });
  it('Slack: Block Kit with verdict, reasons, RTO/RPO and run link', () => {
    const m = drillSlackMessage(result);
    expect(m.text).toMatch(/^:x: Restore drill failed: db\/pg-main: database app/);
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('*RTO*\\n13s');
    expect(json).toContain('<https://github.com/o/r/actions/runs/1|View the workflow run>');
    expect(shouldNotify('failure', 'passed')).toBe(false);
    expect(shouldNotify('always', 'passed')).toBe(true);
    expect(shouldNotify('never', 'failed')).toBe(false);
  });
});

describe('replay end from the recovery log', () => {
  it('parses postgres end-of-recovery lines', () => {
    const log =
      '2026-11-22 00:40:02.1 UTC [12] LOG:  redo done at 0/5000110 system usage: CPU: user: 0.00 s\n2026-11-22 00:40:02.1 UTC [12] LOG:  last completed transaction was at log time 2026-11-22 00:39:58.123456+00\n';
    expect(replayFromRecoveryLog(log)).toEqual({ lsn: '0/5000110', lastCommitAt: '2026-11-22T00:39:58.123Z' });
    expect(replayFromRecoveryLog('nothing')).toEqual({ lsn: undefined, lastCommitAt: undefined });
  });
});

describe('run: usage errors before any API call', () => {
  it('a missing input fails the step with one message; result error, a short summary naming it', async () => {
    const { EventEmitter } = await import('node:events');
    const { run } = await import('../../actions/lib/drill/run.js');
    const { core, rec } = recordingCore({ namespace: 'db' });
    const signals = new EventEmitter() as unknown as Pick<NodeJS.Process, 'once' | 'removeListener'>;
    const result = await run(core, { signals, exit: () => {}, env: {} });
    expect(result).toMatchObject({ verdict: 'error', error: { kind: 'input' } });
    expect(rec.failed).toBe(
      "Input 'cluster': is required; name the live CNPG Cluster to drill, e.g. `cluster: pg-main`.",
    );
    expect(rec.outputs.result).toBe('error');
    expect(rec.summary).toMatch(/^## ⚠️ Restore drill ERROR: db\/\(cluster not set\)\n/);
    expect(rec.summary).toContain("What happened: Input 'cluster': is required");
    expect((signals as unknown as InstanceType<typeof EventEmitter>).listenerCount('SIGTERM')).toBe(0);
  });
});
