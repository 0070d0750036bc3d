// soak-gate-check end to end: the bundle, run like the runner does, against real logical
// replication from a plain PostgreSQL publisher into a playground CNPG cluster. Each gate is
// made to fail by its own real cause; a clean soak passes once the recorded history covers
// the window; bad inputs give one clear error; only the history ConfigMap is ever written.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { historyName } from '../../actions/lib/soak/history-store.js';
import type { HistoryRecord, Sample } from '../../actions/lib/soak/history.js';
import { connectTo, ensureNamespace, isHealthy, secretValue, waitFor, CLUSTERS } from '../helpers/live-cluster.js';
import { leakedSecrets, runAction, type RunResult } from '../helpers/run-action.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { PlainPostgres } from './plain-postgres.js';
import {
  applyRbacExample,
  bindToServiceAccount,
  forbidden,
  serviceAccountKubeconfig,
} from '../drill/least-privilege.js';
import {
  allReady,
  burnWal,
  PUBLICATION,
  READ_ONLY_STATEMENT,
  REPL_PASSWORD,
  REPL_USER,
  setUpPublisher,
  setUpSubscriber,
  statementsOf,
  SUBSCRIPTION,
  waitCaughtUp,
  withTableStuckInCopy,
  type Sql,
} from './pair.js';

const NS = 'soak';
const CLUSTER = 'subdb';
const PRIMARY = `${CLUSTER}-1`;
const PUB_SECRET = 'publisher-conn';
const HISTORY = historyName(CLUSTER, SUBSCRIPTION);
const DRILLS = `cnpg-restore-drill-${CLUSTER}`;
const H = 3_600_000;

let pgd: PlaygroundHandle;
let pub: PlainPostgres;
let pubSql: Sql;
const subSql: Sql = async (text, params) => {
  const c = await connectTo(pgd, NS, CLUSTER, 'postgres', 'app');
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
};

const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  [pgd, pub] = await Promise.all([
    // RBAC enforced (the kubeconfig stays admin): one test runs with exactly workflows/rbac/soak-gate-check.yaml.
    startPlayground({ rbac: true }),
    PlainPostgres.start({ max_slot_wal_keep_size: '48MB', wal_keep_size: '0', log_statement: 'all' }),
  ]);
  ensureNamespace(pgd, NS);
  pgd.store.create(CLUSTERS, {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: CLUSTER, namespace: NS },
    spec: {
      instances: 1,
      enableSuperuserAccess: true, // CREATE SUBSCRIPTION needs a superuser (test setup only)
      storage: { size: '1Gi' },
      postgresql: { parameters: { log_statement: 'all', log_line_prefix: '%m [%p] app=%a user=%u ' } },
    },
  });
  pubSql = await setUpPublisher(pub);
  await waitFor('subscriber cluster healthy', () => isHealthy(pgd.store.get(CLUSTERS, NS, CLUSTER)), 120_000);
  await setUpSubscriber(subSql, pub, 'app');
  pgd.store.create('v1/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: PUB_SECRET, namespace: NS },
    type: 'Opaque',
    data: {
      host: b64('127.0.0.1'),
      port: b64(String(pub.port)),
      username: b64(REPL_USER),
      password: b64(REPL_PASSWORD),
      dbname: b64('app'),
      sslmode: b64('disable'),
    },
  });
});

afterAll(async () => {
  await Promise.all([pgd?.stop(), pub?.stop()]);
});

// ---- helpers ---------------------------------------------------------------------------

const baseInputs = {
  cluster: CLUSTER,
  namespace: NS,
  subscription: SUBSCRIPTION,
  'publisher-secret': PUB_SECRET,
  publication: PUBLICATION,
  'soak-hours': '72',
  'max-sample-gap': '2h',
  'statement-timeout': '5s',
  'fail-on-block': 'false',
  'row-count-tolerance': '0',
  'row-count-floor': '5',
};

async function gate(
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<RunResult & { gates: Record<string, { passed: boolean; text: string }> }> {
  const r = await runAction('soak-gate-check', 'main', {
    inputs: { ...baseInputs, ...inputs },
    env: { KUBECONFIG: pgd.kubeconfigPath, ...env },
    timeoutMs: 120_000,
  });
  const gates: Record<string, { passed: boolean; text: string }> = {};
  for (const m of r.stdout.matchAll(/^(pass|FAIL) ([a-z-]+): (.*)$/gm))
    gates[m[2]] = { passed: m[1] === 'pass', text: m[3] };
  return { ...r, gates };
}

function explain(r: RunResult): string {
  return `exit ${r.exitCode}\n--- errors\n${r.errors.join('\n')}\n--- stdout\n${r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask'))
    .slice(-40)
    .join('\n')}\n--- stderr\n${r.stderr.slice(-2000)}`;
}

function history(): HistoryRecord | undefined {
  const cm = pgd.store.get('v1/configmaps', NS, HISTORY);
  return cm ? (JSON.parse(cm.data.history) as HistoryRecord) : undefined;
}

function seedHistory(samples: Sample[]): void {
  if (pgd.store.get('v1/configmaps', NS, HISTORY)) pgd.store.delete('v1/configmaps', NS, HISTORY);
  pgd.store.create('v1/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: HISTORY, namespace: NS },
    data: { history: JSON.stringify({ version: 1, samples }) },
  });
}

/** Clean hourly samples from `fromHoursAgo` to `toHoursAgo` (both inclusive). */
function cleanHours(fromHoursAgo: number, toHoursAgo: number): Sample[] {
  const out: Sample[] = [];
  for (let h = fromHoursAgo; h >= toHoursAgo; h--)
    out.push({ t: new Date(Date.now() - h * H).toISOString(), ok: true, lag: 0, slot: 0, age: 1 });
  return out;
}

function setDrills(drills: object[] | undefined): void {
  if (pgd.store.get('v1/configmaps', NS, DRILLS)) pgd.store.delete('v1/configmaps', NS, DRILLS);
  if (drills)
    pgd.store.create('v1/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: DRILLS, namespace: NS, labels: { 'cnpg-actions.io/drill-history-of': CLUSTER } },
      data: { drills: JSON.stringify(drills) },
    });
}

const drill = (hoursAgo: number, verdict: 'passed' | 'failed', reasons: string[] = []) => ({
  time: new Date(Date.now() - hoursAgo * H).toISOString(),
  verdict,
  reasons,
  rtoSeconds: 42,
  rpoSeconds: 3,
  backupId: '20261121T030000',
  recoveryCluster: `${CLUSTER}-drill-1`,
  runUrl: 'https://github.com/example/platform/actions/runs/1',
});

function writesSince(since: number): string[] {
  return pgd.requestLog
    .entries()
    .filter(
      (e) =>
        e.time >= since && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(e.method) && !e.path.endsWith('/portforward'),
    )
    .map((e) => `${e.method} ${e.path}`);
}

const secrets = () => [
  REPL_PASSWORD,
  secretValue(pgd, NS, `${CLUSTER}-app`, 'password'),
  secretValue(pgd, NS, `${CLUSTER}-superuser`, 'password'),
];

beforeEach(() => {
  setDrills([drill(24, 'passed')]);
});

// ---- tests -----------------------------------------------------------------------------

describe('a clean soak', () => {
  it('first run: gates 1-6 pass, the sample is recorded, the window is not yet covered; only the history is written, read-only on both databases', async () => {
    if (pgd.store.get('v1/configmaps', NS, HISTORY)) pgd.store.delete('v1/configmaps', NS, HISTORY);
    await pubSql('INSERT INTO orders SELECT g, 7 FROM generate_series(10001, 10100) g');
    await waitCaughtUp(pubSql, subSql);
    const since = Date.now();
    const r = await gate();
    expect(r.exitCode, explain(r)).toBe(0);
    for (const g of ['cluster-health', 'tables-ready', 'lag', 'coverage', 'row-counts', 'restore-drill'])
      expect(r.gates[g]?.passed, `${g}: ${r.gates[g]?.text}`).toBe(true);
    expect(r.gates['soak-window']).toMatchObject({ passed: false });
    expect(r.outputs).toEqual({ passed: 'false', 'clean-hours': '0', 'failing-gates': 'soak-window' });
    expect(r.gates['row-counts'].text).toMatch(/^3\/3 tables agree/);
    // Quiet runner logs: no Node deprecation warning (url.parse, punycode) from the bundle's dependencies.
    expect(r.stderr).not.toMatch(/DeprecationWarning/);
    expect(r.stdout).toMatch(/::warning::Soak gate blocked by soak-window/);
    const h = history()!;
    expect(h.samples).toHaveLength(1);
    expect(h.samples[0]).toMatchObject({ ok: true });
    expect(h.samples[0].slot).toBeGreaterThanOrEqual(0);
    const cm = pgd.store.get('v1/configmaps', NS, HISTORY)!;
    expect(cm.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'cnpg-actions',
      'soak-gate.cnpg-actions/cluster': CLUSTER,
    });
    expect(cm.metadata.annotations).toMatchObject({ 'soak-gate.cnpg-actions/subscription': SUBSCRIPTION });
    expect(writesSince(since)).toEqual([`POST /api/v1/namespaces/${NS}/configmaps`]);
    // Every statement the action sent to either database is part of a READ ONLY transaction.
    const onPublisher = statementsOf(pub.log(), 'soak-gate-check');
    const onSubscriber = statementsOf(pgd.logs.read(NS, PRIMARY), 'soak-gate-check');
    for (const [side, statements] of [
      ['publisher', onPublisher],
      ['subscriber', onSubscriber],
    ] as const) {
      expect(statements.filter((s) => s.startsWith('BEGIN')).length, side).toBeGreaterThan(3);
      expect(
        statements.some((s) => /count\(\*\)/.test(s)),
        side,
      ).toBe(true);
      for (const s of statements) expect(s, side).toMatch(READ_ONLY_STATEMENT);
    }
    expect(r.summary).toContain('| Gate | Result | Value | Threshold | Detail |');
    expect(r.summary).toMatch(/\*\*Clean streak\*\*: 0s of 3d 0h/);
    expect(leakedSecrets(r, secrets())).toEqual([]);
    console.log(`first run ${r.durationMs} ms\n${r.summary}`);
  });

  it('with exactly workflows/rbac/soak-gate-check.yaml, through a ServiceAccount token: no 403', async () => {
    applyRbacExample(pgd, 'soak-gate-check.yaml', { databases: NS });
    bindToServiceAccount(pgd, 'soak-gate-check', NS);
    const since = Date.now();
    const r = await gate({ kubeconfig: serviceAccountKubeconfig(pgd) });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(forbidden(pgd, since)).toEqual([]);
  });

  it('passes once the recorded history covers the window (older samples seeded), and fails the step while it does not', async () => {
    seedHistory(cleanHours(73, 1));
    const ok = await gate({ 'fail-on-block': 'true' });
    expect(ok.exitCode, explain(ok)).toBe(0);
    expect(ok.outputs.passed).toBe('true');
    expect(ok.outputs['failing-gates']).toBe('');
    expect(Number(ok.outputs['clean-hours'])).toBeGreaterThanOrEqual(73);
    expect(ok.summary).toContain('**PASSED**');
    expect(ok.summary).toMatch(/Clean streak\*\*: 3d 1h of 3d 0h \(100%\)/);
    expect(history()!.samples).toHaveLength(74);
    // The same history is not enough for a longer window: the step fails (fail-on-block).
    const longer = await gate({ 'fail-on-block': 'true', 'soak-hours': '96' });
    expect(longer.exitCode).toBe(1);
    expect(longer.outputs['failing-gates']).toBe('soak-window');
    expect(longer.errors).toHaveLength(1);
    expect(longer.errors[0]).toMatch(
      /Soak gate blocked by soak-window: soak-window: 2\d?h \d+m to go; no bad sample or gap recorded/,
    );
  });

  it('a bounded history keeps the streak: trimmed samples fold into the carried state', async () => {
    seedHistory(cleanHours(80, 1));
    const r = await gate({ 'history-size': '10' });
    expect(r.outputs.passed, explain(r)).toBe('true');
    const h = history()!;
    expect(h.samples).toHaveLength(10);
    expect(Date.parse(h.carry!.start!)).toBeLessThan(Date.now() - 79 * H);
    expect(Number(r.outputs['clean-hours'])).toBeGreaterThanOrEqual(80);
    expect(pgd.store.get('v1/configmaps', NS, HISTORY)!.data.history.length).toBeLessThan(2000);
  });

  it('a gap in the samples restarts the streak', async () => {
    seedHistory([...cleanHours(90, 40), ...cleanHours(5, 1)]);
    const r = await gate();
    expect(r.outputs['failing-gates']).toBe('soak-window');
    expect(Number(r.outputs['clean-hours'])).toBeGreaterThanOrEqual(5);
    expect(Number(r.outputs['clean-hours'])).toBeLessThan(5.1);
    expect(r.gates['soak-window'].text).toMatch(/restarted by a 35h 0m gap before .* \(max 2h 0m\)/);
    expect(r.summary).toContain('-- gap 35h 0m: streak restarts --');
  });
});

describe('each gate fails on its own cause', () => {
  it('lag: the subscription disabled while writes continue; the bad sample then restarts the streak', async () => {
    seedHistory(cleanHours(80, 1));
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`);
    try {
      await waitFor(
        'slot inactive',
        async () =>
          (
            await pubSql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
              SUBSCRIPTION,
            ])
          )[0]?.active === false,
      );
      await pubSql(`INSERT INTO items SELECT g, repeat('w', 400) FROM generate_series(20000, 22000) g`);
      const r = await gate({ 'max-slot-retained-bytes': '256KiB', 'row-count-floor': '5000' });
      expect(r.gates.lag.passed).toBe(false);
      expect(r.gates.lag.text).toMatch(
        /subscription is disabled; no apply worker running on the subscriber; slot soak_sub is inactive; slot retains [\d.]+ [KM]iB, over 256.0 KiB/,
      );
      expect(r.outputs['failing-gates']).toBe('lag,soak-window');
      expect(r.outputs['clean-hours']).toBe('0');
      expect(history()!.samples.at(-1)).toMatchObject({ ok: false, fail: ['lag'] });
    } finally {
      await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} ENABLE`);
    }
    await waitCaughtUp(pubSql, subSql);
    const after = await gate();
    expect(after.gates.lag.passed, after.gates.lag.text).toBe(true);
    expect(after.outputs['clean-hours']).toBe('0'); // the streak starts again at this sample
    expect(after.gates['soak-window'].text).toMatch(/last bad sample .* \(lag\)/);
  });

  it('tables-ready: a table stuck in d while its initial copy waits on a lock held on the publisher', async () => {
    await withTableStuckInCopy(pub, pubSql, subSql, async () => {
      const r = await gate({ 'statement-timeout': '2s' });
      expect(r.gates['tables-ready']).toEqual({
        passed: false,
        text: '3/4 ready (threshold: all in state r) public.locked: d (data copy)',
      });
      expect(r.outputs['failing-gates']).toContain('tables-ready');
    });
  });

  it('coverage: a table added on one side only, then a PK-less published table without replica identity', async () => {
    await subSql('CREATE TABLE public.sub_only (id int PRIMARY KEY)');
    try {
      const r = await gate();
      expect(r.gates.coverage.passed).toBe(false);
      expect(r.gates.coverage.text).toMatch(/only on the subscriber: public.sub_only$/);
      expect(r.gates.lag.passed).toBe(true);
      expect(r.outputs['failing-gates']).toBe('coverage,soak-window');
      // Excluding it is how an operator declares it intentional.
      const excluded = await gate({ 'exclude-tables': 'sub_only' });
      expect(excluded.gates.coverage.passed, excluded.gates.coverage.text).toBe(true);
    } finally {
      await subSql('DROP TABLE public.sub_only');
    }
    await pubSql("CREATE TABLE public.nopk (v text); INSERT INTO public.nopk VALUES ('a')");
    await subSql('CREATE TABLE public.nopk (v text); ALTER TABLE public.nopk OWNER TO app');
    await pubSql(`ALTER PUBLICATION ${PUBLICATION} ADD TABLE public.nopk`);
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} REFRESH PUBLICATION`);
    await waitFor('all ready', () => allReady(subSql), 60_000);
    const r = await gate();
    expect(r.gates.coverage.text).toMatch(
      /public.nopk: no primary key and REPLICA IDENTITY DEFAULT \(set REPLICA IDENTITY FULL or USING INDEX\)$/,
    );
    await pubSql('ALTER TABLE public.nopk REPLICA IDENTITY FULL');
    const fixed = await gate();
    expect(fixed.gates.coverage.passed, fixed.gates.coverage.text).toBe(true);
  });

  it('row-counts: rows diverging (written on the subscriber behind replication)', async () => {
    await subSql('INSERT INTO public.orders SELECT g, 1 FROM generate_series(900001, 900040) g');
    try {
      const r = await gate();
      expect(r.gates['row-counts'].passed).toBe(false);
      expect(r.gates['row-counts'].text).toMatch(
        /public.orders: publisher (\d+), subscriber (\d+) \(.*differs by 40 rows, more than the 5 allowed\)/,
      );
      expect(r.outputs['failing-gates']).toBe('row-counts,soak-window');
    } finally {
      await subSql('DELETE FROM public.orders WHERE id > 900000');
    }
  });

  it('restore-drill: no record, a stale one, a failed one; and the drill workflow on the GitHub API', async () => {
    setDrills(undefined);
    expect((await gate()).gates['restore-drill']).toMatchObject({
      passed: false,
      text: expect.stringMatching(/no drill record$/),
    });
    setDrills([drill(24 * 10, 'passed')]);
    expect((await gate()).gates['restore-drill'].text).toMatch(/latest passing drill is stale$/);
    setDrills([drill(48, 'passed'), drill(2, 'failed', ['row counts differ on public.orders'])]);
    const failed = await gate();
    expect(failed.gates['restore-drill'].text).toMatch(/latest drill failed: row counts differ on public.orders$/);
    expect(failed.outputs['failing-gates']).toBe('restore-drill,soak-window');
    expect(history()!.samples.at(-1)!.ok).toBe(true); // a drill does not break the replication streak

    setDrills([drill(24, 'passed')]);
    let runTime = new Date(Date.now() - 2 * H).toISOString();
    const requests: string[] = [];
    const api: Server = createServer((req, res) => {
      requests.push(`${req.url} ${req.headers.authorization}`);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          total_count: 1,
          workflow_runs: [
            {
              id: 77,
              html_url: 'https://github.com/example/platform/actions/runs/77',
              updated_at: runTime,
              head_branch: 'main',
            },
          ],
        }),
      );
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    try {
      const env = { GITHUB_API_URL: `http://127.0.0.1:${(api.address() as { port: number }).port}` };
      const fresh = await gate({ 'drill-workflow': 'cnpg-restore-drill.yml', 'github-token': 'ghs_soaktoken123' }, env);
      expect(fresh.gates['restore-drill'].passed, fresh.gates['restore-drill'].text).toBe(true);
      expect(fresh.gates['restore-drill'].text).toMatch(/workflow run 77 succeeded 2h 0m ago/);
      expect(requests[0]).toMatch(
        /^\/repos\/example\/platform\/actions\/workflows\/cnpg-restore-drill.yml\/runs\?status=success&per_page=1 token ghs_soaktoken123$/,
      );
      expect(leakedSecrets(fresh, ['ghs_soaktoken123'])).toEqual([]);
      runTime = new Date(Date.now() - 30 * 24 * H).toISOString();
      const stale = await gate({ 'drill-workflow': 'cnpg-restore-drill.yml', 'github-token': 'ghs_soaktoken123' }, env);
      expect(stale.gates['restore-drill'].text).toMatch(
        /workflow cnpg-restore-drill.yml: latest successful run https:\/\/github.com\/example\/platform\/actions\/runs\/77 is stale$/,
      );
    } finally {
      await new Promise<void>((r) => api.close(() => r()));
    }
  });

  it('an unreachable publisher (uri Secret) leaves its gates unmeasured and the sample bad, without leaking the uri', async () => {
    const uri = 'postgresql://soak_repl:uri-pw-93d1e@127.0.0.1:1/app?sslmode=disable';
    pgd.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dead-pub', namespace: NS },
      type: 'Opaque',
      data: { uri: b64(uri) },
    });
    const r = await gate({ 'publisher-secret': 'dead-pub' });
    expect(r.exitCode).toBe(0);
    expect(r.gates['tables-ready'].passed).toBe(true);
    for (const g of ['lag', 'coverage', 'row-counts'])
      expect(r.gates[g].text).toMatch(/^not measured .*publisher 127.0.0.1:1\/app not readable: .*ECONNREFUSED/);
    expect(history()!.samples.at(-1)).toMatchObject({ ok: false, fail: ['lag', 'coverage', 'row-counts'] });
    expect(r.masked).toContain(uri);
    expect(leakedSecrets(r, [uri, 'uri-pw-93d1e'])).toEqual([]);
  });

  it('history writes are optimistic: a conflicting writer (409) and two overlapping runs lose no sample', async () => {
    seedHistory(cleanHours(3, 1));
    pgd.faults.add({ method: 'PUT', path: `^/api/v1/namespaces/${NS}/configmaps/${HISTORY}$`, status: 409, times: 1 });
    const r = await gate();
    expect(r.stdout).toContain('history: 1 concurrent update(s) merged');
    expect(history()!.samples).toHaveLength(4);
    const [a, b] = await Promise.all([gate(), gate()]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect(history()!.samples).toHaveLength(6);
  });

  it("cluster-health: the subscriber primary's postgres killed", async () => {
    pgd.operator.settings.crashRestartDelayMs = 30_000; // outlasts a run on a loaded machine
    const pvc = pgd.store.get('v1/persistentvolumeclaims', NS, PRIMARY)!;
    const pv = pgd.store.get('v1/persistentvolumes', undefined, pvc.spec.volumeName)!;
    const pid = Number(readFileSync(`${pv.spec.hostPath.path}/pgdata/postmaster.pid`, 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    try {
      await waitFor(
        'cluster unhealthy',
        () => pgd.store.get(CLUSTERS, NS, CLUSTER)?.status?.readyInstances === 0,
        20_000,
      );
      const r = await gate();
      expect(r.gates['cluster-health'].passed).toBe(false);
      expect(r.gates['cluster-health'].text).toMatch(
        /0\/1 instances ready .*phase is 'Waiting for the instances to become active'/,
      );
      expect(r.gates['tables-ready'].text).toMatch(
        /not measured .*subscriber soak\/subdb not readable: The current primary soak\/subdb-1 is not ready/,
      );
      expect(r.outputs['failing-gates'].split(',')).toEqual([
        'cluster-health',
        'tables-ready',
        'lag',
        'coverage',
        'row-counts',
        'soak-window',
      ]);
      expect(history()!.samples.at(-1)).toMatchObject({ ok: false });
    } finally {
      pgd.operator.settings.crashRestartDelayMs = 1000;
    }
    await waitFor('cluster healthy again', () => isHealthy(pgd.store.get(CLUSTERS, NS, CLUSTER)), 90_000);
  });
});

describe('bad inputs', () => {
  it('each gives one clear error and writes nothing', async () => {
    const before = JSON.stringify(history());
    pgd.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'half-secret', namespace: NS },
      type: 'Opaque',
      data: { host: b64('127.0.0.1'), username: b64('x') },
    });
    const cases: [Record<string, string>, RegExp][] = [
      [{ cluster: '' }, /^Input 'cluster': is required/],
      [{ cluster: 'Bad_Name' }, /^Input 'cluster': 'Bad_Name' is not a valid Kubernetes name/],
      [{ cluster: 'nope' }, /^Input 'cluster': Cluster soak\/nope was not found/],
      [{ 'publisher-secret': 'missing' }, /^Input 'publisher-secret': Secret soak\/missing was not found/],
      [
        { 'publisher-secret': 'half-secret' },
        /^Input 'publisher-secret': Secret soak\/half-secret lacks password, dbname/,
      ],
      [
        { subscription: 'other_sub' },
        /^Input 'subscription': no subscription 'other_sub' in the subscriber's database app/,
      ],
      [
        { publication: 'other_pub' },
        /^Input 'publication': subscription 'soak_sub' subscribes to soak_pub, not 'other_pub'/,
      ],
      [{ 'max-sample-gap': '1w' }, /^Input 'max-sample-gap': is longer than soak-hours/],
      [{ kubeconfig: 'not a kubeconfig' }, /^Input 'kubeconfig': is neither a kubeconfig/],
    ];
    for (const [inputs, message] of cases) {
      const since = Date.now();
      const r = await gate(inputs);
      expect(r.exitCode, JSON.stringify(inputs)).toBe(1);
      expect(r.errors, JSON.stringify(inputs)).toHaveLength(1);
      expect(r.errors[0]).toMatch(message);
      expect(writesSince(since)).toEqual([]);
      expect(r.outputs).toEqual({});
    }
    expect(JSON.stringify(history())).toBe(before);
  });
});

describe('the slot invalidated (last: it ends the subscription)', () => {
  it('lag: wal_status lost after max_slot_wal_keep_size is exceeded while the subscription is disabled', async () => {
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`);
    await waitFor(
      'slot inactive',
      async () =>
        (
          await pubSql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
            SUBSCRIPTION,
          ])
        )[0]?.active === false,
    );
    await burnWal(pubSql, 5);
    await pubSql('CHECKPOINT');
    const r = await gate({ 'row-count-floor': '100' });
    expect(r.gates.lag.passed).toBe(false);
    expect(r.gates.lag.text).toMatch(
      /slot soak_sub wal_status is lost \(invalidated: the subscription must be rebuilt\)/,
    );
  });
});
