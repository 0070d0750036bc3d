// Pure logic of the soak gate: history and streak (bad samples, gaps, trimming), inputs,
// coverage, gate judgements, drill freshness, the report, and the GitHub drill-run lookup
// through a real Octokit against a local HTTP server.
import { getOctokit } from '@actions/github';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import { checkCoverage, coverageProblems } from '../../actions/lib/soak/coverage.js';
import type { UserTable } from '../../actions/lib/soak/catalog.js';
import { judgeDrill, sortByTime, type DrillEntry } from '../../actions/lib/soak/drill-record.js';
import { latestSuccessfulRun } from '../../actions/lib/soak/drill-workflow.js';
import {
  drillGate,
  healthGate,
  lagGate,
  rowCountGate,
  tablesReadyGate,
  windowGate,
} from '../../actions/lib/soak/gates.js';
import {
  appendSample,
  computeStreak,
  emptyHistory,
  parseHistory,
  type HistoryRecord,
  type Sample,
} from '../../actions/lib/soak/history.js';
import { historyName } from '../../actions/lib/soak/history-store.js';
import { parseBytes, readSoakInputs } from '../../actions/lib/soak/inputs.js';
import { publisherConnInfo, type PublisherState } from '../../actions/lib/soak/publisher.js';
import { renderReport, timeline } from '../../actions/lib/soak/report.js';
import type { SubscriberState } from '../../actions/lib/soak/subscriber.js';
import { recordingCore } from '../helpers/recording-core.js';

const H = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (h: number) => new Date(T0 + h * H).toISOString();
const hourly = (from: number, to: number, bad: number[] = []): Sample[] => {
  const out: Sample[] = [];
  for (let h = from; h <= to; h++)
    out.push(bad.includes(h) ? { t: at(h), ok: false, fail: ['lag'] } : { t: at(h), ok: true });
  return out;
};
const rec = (samples: Sample[]): HistoryRecord => ({ version: 1, samples });

describe('clean streak', () => {
  it('counts observed clean time from the first clean sample to the newest', () => {
    const s = computeStreak(rec(hourly(0, 72)), 2 * H);
    expect(s.cleanMs).toBe(72 * H);
    expect(s.since).toBe(at(0));
    expect(s.lastBreak).toBeUndefined();
  });
  it('restarts after a bad sample, from the next clean one', () => {
    const s = computeStreak(rec(hourly(0, 72, [10])), 2 * H);
    expect(s.since).toBe(at(11));
    expect(s.cleanMs).toBe(61 * H);
    expect(s.lastBreak).toEqual({ kind: 'bad', at: at(10), fail: ['lag'] });
  });
  it('is zero when the newest sample is bad', () => {
    expect(computeStreak(rec(hourly(0, 5, [5])), 2 * H).cleanMs).toBe(0);
  });
  it('restarts at a gap longer than max-sample-gap; a gap exactly max is fine', () => {
    const samples = [...hourly(0, 20), ...hourly(25, 40)];
    const s = computeStreak(rec(samples), 2 * H);
    expect(s.since).toBe(at(25));
    expect(s.cleanMs).toBe(15 * H);
    expect(s.lastBreak).toEqual({ kind: 'gap', at: at(25), gapMs: 5 * H });
    const exact = [...hourly(0, 20), ...hourly(22, 40)];
    expect(computeStreak(rec(exact), 2 * H).cleanMs).toBe(40 * H);
  });
  it('trimming folds dropped samples into carry without changing the streak', () => {
    let r = emptyHistory();
    let full = emptyHistory();
    const samples = [...hourly(0, 30, [3]), ...hourly(34, 100)];
    for (const s of samples) {
      r = appendSample(r, s, 10, 2 * H);
      full = appendSample(full, s, 10_000, 2 * H);
    }
    expect(r.samples).toHaveLength(10);
    expect(r.carry?.start).toBe(at(34));
    expect(computeStreak(r, 2 * H)).toEqual(computeStreak(full, 2 * H));
    expect(computeStreak(r, 2 * H).cleanMs).toBe(66 * H);
  });
  it('a gap right after the trimmed part still restarts the streak', () => {
    let r = emptyHistory();
    for (const s of [...hourly(0, 10), ...hourly(15, 17)]) r = appendSample(r, s, 3, 2 * H);
    expect(r.samples.map((s) => s.t)).toEqual([at(15), at(16), at(17)]);
    expect(computeStreak(r, 2 * H)).toMatchObject({ cleanMs: 2 * H, since: at(15), lastBreak: { kind: 'gap' } });
  });
  it('keeps samples in time order whatever order they arrive in', () => {
    let r = emptyHistory();
    for (const s of [hourly(2, 2)[0], hourly(0, 0)[0], hourly(1, 1)[0]]) r = appendSample(r, s, 10, 2 * H);
    expect(r.samples.map((s) => s.t)).toEqual([at(0), at(1), at(2)]);
  });
  it('parses stored history defensively', () => {
    expect(parseHistory(undefined).record.samples).toEqual([]);
    expect(parseHistory('{nope').problem).toMatch(/unreadable/);
    const p = parseHistory(
      JSON.stringify({ version: 1, samples: [{ t: at(1), ok: true }, { t: 'x', ok: true }, { ok: false }] }),
    );
    expect(p.record.samples).toHaveLength(1);
    expect(p.problem).toMatch(/2 malformed/);
  });
});

describe('window gate', () => {
  it('passes once the streak reaches soak-hours and names the restart cause when not', () => {
    expect(windowGate(computeStreak(rec(hourly(0, 72)), 2 * H), 72 * H, 2 * H).passed).toBe(true);
    const short = windowGate(computeStreak(rec(hourly(0, 71)), 2 * H), 72 * H, 2 * H);
    expect(short.passed).toBe(false);
    expect(short.detail).toMatch(/1h 0m to go/);
    const gap = windowGate(computeStreak(rec([...hourly(0, 50), ...hourly(60, 80)]), 2 * H), 72 * H, 2 * H);
    expect(gap.detail).toMatch(/10h 0m gap before/);
  });
});

describe('inputs', () => {
  const base = {
    cluster: 'app-db',
    subscription: 'soak_sub',
    'publisher-secret': 'supabase-conn',
    publication: 'soak_pub',
  };
  const read = (extra: Record<string, string>) => readSoakInputs(recordingCore({ ...base, ...extra }).core);
  it('reads defaults', () => {
    const i = read({});
    expect(i).toMatchObject({
      namespace: 'default',
      publisherSecretNamespace: 'default',
      soakMs: 72 * H,
      maxSubscriberLagBytes: 1024 ** 2,
      maxSlotRetainedBytes: 64 * 1024 ** 2,
      failOnBlock: true,
      historySize: 500,
      rowCountMode: 'exact',
    });
  });
  it.each([
    [{ cluster: 'App_DB' }, /Input 'cluster'.*not a valid Kubernetes name/],
    [{ subscription: '' }, /Input 'subscription': is required/],
    [{ 'soak-hours': '-1' }, /Input 'soak-hours'/],
    [{ 'max-slot-retained-bytes': 'lots' }, /Input 'max-slot-retained-bytes': 'lots' is not a byte size/],
    [{ 'max-message-age': '5 minutes' }, /Input 'max-message-age'.*not a duration/],
    [{ 'exclude-tables': 'a.b.c' }, /Input 'exclude-tables': 'a.b.c' is not a table pattern/],
    [{ 'drill-workflow': 'drill.yml' }, /Input 'github-token': is required when drill-workflow/],
    [{ 'drill-workflow': 'not a file', 'github-token': 't' }, /Input 'drill-workflow'/],
    [{ 'max-sample-gap': '100h' }, /Input 'max-sample-gap': is longer than soak-hours/],
    [{ 'history-size': '1' }, /Input 'history-size'/],
    [{ 'connection-mode': 'ssh' }, /Input 'connection-mode'/],
    [{ 'fail-on-block': 'maybe' }, /Input 'fail-on-block'/],
    [{ 'row-count-tolerance': '2' }, /Input 'row-count-tolerance'/],
  ])('%j is one clear error', (extra, message) => {
    expect(() => read(extra as Record<string, string>)).toThrow(message);
  });
  it('parses byte sizes and table patterns', () => {
    expect(parseBytes('16MiB')).toBe(16 * 1024 ** 2);
    expect(parseBytes('64MB')).toBe(64e6);
    expect(parseBytes('0')).toBe(0);
    expect(parseBytes('-1')).toBeUndefined();
    expect(read({ 'exclude-tables': 'oban_jobs, auth.*\nbilling.runs' }).exclude).toEqual([
      { schema: 'public', name: 'oban_jobs' },
      { schema: 'auth', name: '*' },
      { schema: 'billing', name: 'runs' },
    ]);
  });
  it('masks the token and kubeconfig', () => {
    const { core, rec: r } = recordingCore({ ...base, 'github-token': 'ghs_secret', 'drill-workflow': 'drill.yml' });
    readSoakInputs(core);
    expect(r.secrets).toContain('ghs_secret');
  });
});

describe('publisher connection secret', () => {
  it('takes keys or a uri, keys winning', () => {
    expect(publisherConnInfo({ host: 'db', port: '6543', username: 'u', password: 'p', dbname: 'd' }, 'ns/s')).toEqual({
      host: 'db',
      port: 6543,
      user: 'u',
      password: 'p',
      database: 'd',
      ssl: false,
    });
    expect(publisherConnInfo({ uri: 'postgresql://u%40x:p%2F@h.example:5433/app?sslmode=require' }, 'ns/s')).toEqual({
      host: 'h.example',
      port: 5433,
      user: 'u@x',
      password: 'p/',
      database: 'app',
      ssl: { rejectUnauthorized: false },
    });
    expect(publisherConnInfo({ uri: 'postgres://u:p@h/app', dbname: 'other' }, 'ns/s').database).toBe('other');
  });
  it('names what is missing', () => {
    expect(() => publisherConnInfo({ host: 'db', username: 'u' }, 'ns/s')).toThrow(
      /Input 'publisher-secret': Secret ns\/s lacks password, dbname/,
    );
    expect(() => publisherConnInfo({ uri: 'mysql://x' }, 'ns/s')).toThrow(/not postgresql/);
    expect(() =>
      publisherConnInfo({ host: 'h', username: 'u', password: 'p', dbname: 'd', sslmode: 'bogus' }, 'ns/s'),
    ).toThrow(/sslmode 'bogus'/);
  });
});

const table = (schema: string, name: string, extra: Partial<UserTable> = {}): UserTable => ({
  schema,
  name,
  unlogged: false,
  hasPrimaryKey: true,
  replicaIdentity: 'd',
  hasIdentityIndex: false,
  ...extra,
});

function pubState(tables: UserTable[], published: string[], extra: Partial<PublisherState> = {}): PublisherState {
  return {
    publication: { name: 'p', allTables: false, publishesUpdates: true },
    published: published.map((q) => ({ schema: q.split('.')[0], name: q.split('.')[1] })),
    tables,
    slot: { name: 's', type: 'logical', database: 'app', active: true, walStatus: 'reserved', retainedBytes: 100 },
    ...extra,
  };
}
function subState(tables: UserTable[], subscribed: string[], extra: Partial<SubscriberState> = {}): SubscriberState {
  return {
    subscription: { oid: 1, name: 's', enabled: true, slotName: 's', publications: ['p'] },
    tables: subscribed.map((q) => ({ schema: q.split('.')[0], name: q.split('.')[1], state: 'r' })),
    worker: { pid: 1, lagBytes: 0, messageAgeSeconds: 2 },
    userTables: tables,
    ...extra,
  };
}

describe('coverage', () => {
  const both = [table('public', 'orders'), table('public', 'items')];
  it('passes when the publication is exactly the tables on both sides', () => {
    const c = checkCoverage(
      pubState(both, ['public.orders', 'public.items']),
      subState(both, ['public.orders', 'public.items']),
      [],
    );
    expect(coverageProblems(c)).toEqual([]);
  });
  it('names tables on one side only, unpublished, unsubscribed and PK-less ones', () => {
    const pub = pubState(
      [
        ...both,
        table('public', 'pub_only'),
        table('public', 'nopk', { hasPrimaryKey: false }),
        table('public', 'cache', { unlogged: true }),
        table('oban', 'jobs'),
      ],
      ['public.orders', 'public.nopk'],
    );
    const sub = subState(
      [...both, table('public', 'sub_only'), table('public', 'nopk', { hasPrimaryKey: false }), table('oban', 'jobs')],
      ['public.orders'],
    );
    const c = checkCoverage(pub, sub, [{ schema: 'oban', name: '*' }]);
    expect(coverageProblems(c)).toEqual([
      'only on the publisher: public.pub_only',
      'only on the subscriber: public.sub_only',
      'on both sides but not published: public.items',
      'published but not subscribed (ALTER SUBSCRIPTION ... REFRESH PUBLICATION): public.nopk',
      'public.nopk: no primary key and REPLICA IDENTITY DEFAULT (set REPLICA IDENTITY FULL or USING INDEX)',
    ]);
  });
  it('FOR ALL TABLES: a publisher-only table is reported once, excluded tables are not held against it', () => {
    const pubTables = [...both, table('public', 'pub_only'), table('oban', 'jobs')];
    const pub = pubState(pubTables, ['public.orders', 'public.items', 'public.pub_only', 'oban.jobs'], {
      publication: { name: 'p', allTables: true, publishesUpdates: true },
    });
    const sub = subState([...both, table('oban', 'jobs')], ['public.orders', 'public.items', 'oban.jobs']);
    expect(coverageProblems(checkCoverage(pub, sub, [{ schema: 'oban', name: '*' }]))).toEqual([
      'only on the publisher: public.pub_only',
    ]);
  });
  it('accepts FULL or an identity index; flags NOTHING and excluded-but-published', () => {
    const tables = [
      table('public', 'a', { hasPrimaryKey: false, replicaIdentity: 'f' }),
      table('public', 'b', { hasPrimaryKey: false, replicaIdentity: 'i', hasIdentityIndex: true }),
      table('public', 'c', { replicaIdentity: 'n' }),
      table('public', 'x'),
    ];
    const c = checkCoverage(
      pubState(tables, ['public.a', 'public.b', 'public.c', 'public.x']),
      subState(tables, ['public.a', 'public.b', 'public.c', 'public.x']),
      [{ schema: 'public', name: 'x' }],
    );
    expect(coverageProblems(c)).toEqual(['published but excluded: public.x', 'public.c: REPLICA IDENTITY NOTHING']);
  });
});

describe('gates from measurements', () => {
  const thresholds = { maxSubscriberLagBytes: 1000, maxSlotRetainedBytes: 10_000, maxMessageAgeMs: 60_000 };
  it('lag: both ends within thresholds pass; each cause fails with its reason', () => {
    const pub = pubState([], []);
    expect(lagGate(subState([], []), pub, 's', thresholds).passed).toBe(true);
    const disabled = lagGate(
      subState([], [], {
        subscription: { oid: 1, name: 's', enabled: false, slotName: 's', publications: ['p'] },
        worker: undefined,
      }),
      pubState([], [], {
        slot: {
          name: 's',
          type: 'logical',
          database: 'app',
          active: false,
          walStatus: 'extended',
          retainedBytes: 50_000,
        },
      }),
      's',
      thresholds,
    );
    expect(disabled.detail).toBe(
      'subscription is disabled; no apply worker running on the subscriber; slot s is inactive; slot retains 48.8 KiB, over 9.8 KiB',
    );
    const lost = lagGate(
      subState([], []),
      pubState([], [], { slot: { name: 's', type: 'logical', database: 'app', active: true, walStatus: 'lost' } }),
      's',
      thresholds,
    );
    expect(lost.detail).toMatch(/wal_status is lost \(invalidated/);
    const old = lagGate(
      subState([], [], { worker: { pid: 1, lagBytes: 5000, messageAgeSeconds: 600 } }),
      pub,
      's',
      thresholds,
    );
    expect(old.detail).toMatch(/subscriber lag 4.9 KiB exceeds 1000 B; last message 10m 0s ago, over 1m 0s/);
    expect(lagGate(subState([], []), pubState([], [], { slot: undefined }), 'gone', thresholds).detail).toMatch(
      /slot gone does not exist/,
    );
  });
  it('tables-ready lists the tables not in r with their state', () => {
    const sub = subState([], ['public.a', 'public.b']);
    sub.tables[1].state = 'd';
    const g = tablesReadyGate(sub);
    expect(g).toMatchObject({ passed: false, value: '1/2 ready', detail: 'public.b: d (data copy)' });
  });
  it('health needs the phase, Ready, all instances and pods', () => {
    const cluster = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: 'db', namespace: 'ns' },
      spec: { instances: 2 },
      status: {
        phase: 'Cluster in healthy state',
        readyInstances: 2,
        currentPrimary: 'db-1',
        targetPrimary: 'db-1',
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    } as Cluster;
    expect(healthGate(cluster, ['db-1', 'db-2'], []).passed).toBe(true);
    expect(healthGate(cluster, ['db-1'], ['db-2']).detail).toBe('pods not ready: db-2; 1/2 instance pods ready');
    // In-pod bootstrap: a replica whose init container crash-loops while the phase only says "waiting".
    const failing =
      'bootstrap init container of pod db-2 (container bootstrap-instance) is crash-looping (last exit code 1)';
    expect(healthGate(cluster, ['db-1'], ['db-2'], [failing]).detail).toBe(
      `pods not ready: db-2; ${failing}; 1/2 instance pods ready`,
    );
  });
  it('row counts name diverging tables', () => {
    const g = rowCountGate(
      [
        {
          schema: 'public',
          table: 'a',
          live: 100,
          other: 130,
          allowed: 10,
          within: false,
          note: 'public.a differs by 30 rows, more than the 10 allowed',
        },
        { schema: 'public', table: 'b', live: 1, other: 1, allowed: 10, within: true },
      ],
      0,
      10,
    );
    expect(g).toMatchObject({ passed: false, value: '1/2 tables agree' });
    expect(g.detail).toMatch(/public.a: publisher 100, subscriber 130/);
    expect(rowCountGate([], 0, 10).passed).toBe(false);
  });
});

describe('restore drill', () => {
  const now = new Date(at(100));
  const entry = (h: number, verdict: DrillEntry['verdict'], reasons: string[] = []): DrillEntry => ({
    time: at(h),
    verdict,
    reasons,
    rtoSeconds: 60,
    rpoSeconds: 5,
    backupId: 'b1',
    recoveryCluster: 'r',
    runUrl: null,
  });
  it('needs the newest drill passed and fresh', () => {
    expect(judgeDrill(undefined, now, 24 * H)).toMatchObject({ passed: false, problem: 'no drill record' });
    expect(judgeDrill([], now, 24 * H).problem).toBe('no drill in the record');
    expect(judgeDrill([entry(90, 'passed')], now, 24 * H).passed).toBe(true);
    expect(judgeDrill([entry(50, 'passed')], now, 24 * H).problem).toBe('latest passing drill is stale');
    expect(judgeDrill([entry(90, 'passed'), entry(95, 'failed', ['row counts differ'])], now, 24 * H).problem).toBe(
      'latest drill failed: row counts differ',
    );
    expect(judgeDrill(sortByTime([entry(95, 'failed'), entry(90, 'passed')]), now, 24 * H).passed).toBe(false);
  });
  it('with a workflow, its latest successful run must also be fresh', () => {
    const ok = judgeDrill([entry(90, 'passed')], now, 24 * H);
    expect(drillGate(ok, 24 * H, { name: 'd.yml', run: { id: 7, url: 'u', time: at(99) }, now }).passed).toBe(true);
    expect(drillGate(ok, 24 * H, { name: 'd.yml', run: { id: 7, url: 'u', time: at(10) }, now }).detail).toMatch(
      /latest successful run u is stale/,
    );
    expect(drillGate(ok, 24 * H, { name: 'd.yml', now }).detail).toMatch(/no successful run/);
  });
});

describe('GitHub drill workflow lookup (real Octokit, local API server)', () => {
  let server: Server;
  let baseUrl = '';
  const seen: { url: string; auth?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      res.setHeader('content-type', 'application/json');
      if (req.url!.startsWith('/repos/acme/platform/actions/workflows/cnpg-restore-drill.yml/runs')) {
        res.end(
          JSON.stringify({
            total_count: 1,
            workflow_runs: [
              {
                id: 99,
                html_url: 'https://github.com/acme/platform/actions/runs/99',
                updated_at: '2026-11-20T03:10:00Z',
                head_branch: 'main',
              },
            ],
          }),
        );
      } else if (req.url!.startsWith('/repos/acme/platform/actions/workflows/none.yml/runs')) {
        res.end(JSON.stringify({ total_count: 0, workflow_runs: [] }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ message: 'Not Found' }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('finds the latest successful run, asking only for successes', async () => {
    const octokit = getOctokit('tok123', { baseUrl });
    const run = await latestSuccessfulRun(octokit, 'acme/platform', 'cnpg-restore-drill.yml');
    expect(run).toEqual({
      id: 99,
      url: 'https://github.com/acme/platform/actions/runs/99',
      time: '2026-11-20T03:10:00Z',
      branch: 'main',
    });
    expect(seen[0].url).toMatch(/status=success/);
    expect(seen[0].auth).toBe('token tok123');
    expect(await latestSuccessfulRun(octokit, 'acme/platform', 'none.yml')).toBeUndefined();
    await expect(latestSuccessfulRun(octokit, 'acme/platform', 'missing.yml')).rejects.toThrow(/Not Found/);
  });
});

describe('report', () => {
  it('renders gates, the streak against the window and a timeline with gaps', () => {
    const samples = [...hourly(0, 3, [1]), ...hourly(8, 9)];
    const history = rec(samples);
    const streak = computeStreak(history, 2 * H);
    const md = renderReport({
      title: 'ns/db sub s',
      passed: false,
      gates: [windowGate(streak, 72 * H, 2 * H)],
      streak,
      soakMs: 72 * H,
      maxGapMs: 2 * H,
      history,
      notes: [],
    });
    expect(md).toMatch(/\*\*BLOCKED\*\* by: soak-window/);
    expect(md).toMatch(/\| soak-window \| FAIL \| 1h 0m clean since 2026-11-01T08:00:00.000Z \|/);
    expect(md).toMatch(/Clean streak\*\*: 1h 0m of 3d 0h \(1%\)/);
    const lines = timeline(samples, 2 * H).split('\n');
    expect(lines).toEqual([
      '2026-11-01 00:00Z  ok   sub n/a  slot n/a  msg n/a',
      '2026-11-01 01:00Z  BAD  sub n/a  slot n/a  msg n/a  [lag]',
      '2026-11-01 02:00Z  ok   sub n/a  slot n/a  msg n/a',
      '2026-11-01 03:00Z  ok   sub n/a  slot n/a  msg n/a',
      '   -- gap 5h 0m: streak restarts --',
      '2026-11-01 08:00Z  ok   sub n/a  slot n/a  msg n/a',
      '2026-11-01 09:00Z  ok   sub n/a  slot n/a  msg n/a',
    ]);
  });
  it('history ConfigMap names are valid and distinct', () => {
    expect(historyName('db', 'soak-sub')).toBe('soak-gate-db-soak-sub');
    const a = historyName('db', 'soak_sub');
    expect(a).toMatch(/^soak-gate-db-soak-sub-[0-9a-f]{8}$/);
    expect(historyName('db', 'Soak_Sub')).not.toBe(a);
  });
});
