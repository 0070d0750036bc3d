// Cancellation at each phase (then the post step), API faults at each step, bad inputs, Slack,
// keep-on-failure and the TTL sweep: whatever happens, nothing the drill created is left.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { CLUSTERS, createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { leakedSecrets, runAction, type RunResult } from '../helpers/run-action.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { drillClusters, explain, leftovers, runDrill, writes } from './support.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;

beforeAll(async () => {
  pgd = await startPlayground();
  pgd.operator.settings.jobBackoffLimit = 0;
  live = await createLiveCluster(pgd, { name: 'cx', rows: 500 });
});
afterAll(async () => {
  await pgd?.stop();
});

describe('bad inputs: one clear error, nothing created', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing cluster', { cluster: '' }, /^Input 'cluster': is required/],
    ['wrong namespace', { namespace: 'nope' }, /^Input 'namespace': namespace 'nope' does not exist/],
    ['cluster not found', { cluster: 'ghost' }, /^Input 'cluster': no CNPG Cluster 'ghost' in namespace 'default'/],
    [
      'malformed kubeconfig',
      { kubeconfig: 'this: is: not: a kubeconfig' },
      /^Input 'kubeconfig': is neither a kubeconfig/,
    ],
    [
      'tolerance out of range',
      { 'row-count-tolerance': '2' },
      /^Input 'row-count-tolerance': '2' is not a number between 0 and 1/,
    ],
    [
      'unknown live-counts',
      { 'live-counts': 'guess' },
      /^Input 'live-counts': 'guess' is not one of: auto, exact, estimate, replica/,
    ],
  ];
  for (const [what, extra, message] of cases) {
    it(what, async () => {
      const since = Date.now();
      const r = await runDrill(pgd, { cluster: 'cx', namespace: 'default', ...extra });
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(message);
      expect(writes(pgd, since)).toEqual([]);
      expect(r.state['recovery-cluster']).toBeUndefined();
      // A usage error, not a verdict on the backup: result error, a summary naming the input and the fix.
      expect(r.summary.split('\n')[0]).toMatch(/^## ⚠️ Restore drill ERROR: /);
      expect(r.summary).toContain(`- What happened: ${r.errors[0]}`);
      expect(r.outputs.result).toBe('error');
    });
  }

  it('a live spec without its ObjectStore names the missing object, creates nothing', async () => {
    pgd.store.create(CLUSTERS, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: 'nostore', namespace: 'default' },
      spec: {
        instances: 1,
        storage: { size: '1Gi' },
        plugins: [
          {
            name: 'barman-cloud.cloudnative-pg.io',
            isWALArchiver: true,
            parameters: { barmanObjectName: 'missing-store' },
          },
        ],
      },
    });
    const since = Date.now();
    const r = await runDrill(pgd, { cluster: 'nostore', namespace: 'default', 'record-history': false });
    expect(r.exitCode).toBe(1);
    expect(r.errors[0]).toMatch(
      /live cluster spec: ObjectStore default\/missing-store \(named by spec.plugins\[\]\.parameters\.barmanObjectName\) does not exist/,
    );
    expect(writes(pgd, since)).toEqual([]);
    pgd.store.delete(CLUSTERS, 'default', 'nostore');
  });
});

describe('cancellation: SIGTERM at each phase, then the post step', () => {
  const phases: [string, RegExp, NodeJS.Signals][] = [
    ['backup inventory', /▶ backup inventory/, 'SIGTERM'],
    ['baseline', /▶ baseline from live/, 'SIGTERM'],
    ['creating the recovery cluster', /▶ create the recovery cluster/, 'SIGTERM'],
    ['waiting for the recovery', /recovery cluster phase: Setting up primary/, 'SIGTERM'],
    ["waiting for the recovery (SIGINT, the runner's first signal)", /recovery job \S+ is running/, 'SIGINT'],
    ['comparing', /▶ compare the restore with live/, 'SIGTERM'],
  ];
  for (const [phase, pattern, signal] of phases) {
    it(`during ${phase}: main stops within the grace window, post leaves nothing`, async () => {
      let killedAt = 0;
      let exitedAt = 0;
      let seen = '';
      const r = await runDrill(
        pgd,
        { cluster: 'cx', namespace: 'default' },
        {
          killOn: { pattern, signal },
          onSpawn: (child) => {
            child.stdout!.on('data', (d) => {
              seen += d;
              if (!killedAt && pattern.test(seen)) killedAt = Date.now();
            });
            child.on('exit', () => (exitedAt = Date.now()));
          },
        },
      );
      expect(r.exitCode, explain(r)).toBe(1);
      // The runner kills ~7.5 s after SIGTERM: main must be done (teardown included) before that.
      expect(exitedAt - killedAt).toBeLessThan(7_500);
      expect(r.stdout).toContain(`Received ${signal}: cancelling the drill and tearing down.`);
      // The cancelled waits end their watches: none is "resuming".
      expect(r.stdout).not.toMatch(/dropped \(.*\); resuming/);
      const name = r.state['recovery-cluster'];
      await postLeavesNothing(r);
      console.log(
        `cancel during ${phase}: main exited ${exitedAt - killedAt} ms after ${signal} (${/teardown verified/.test(r.stdout) ? 'teardown verified by main' : 'no teardown needed or left to post'}); recovery cluster ${name ?? '(none)'}`,
      );
    });
  }

  it('during compare of the second database: the summary and the JSON report show the first', async () => {
    await live.superSql('CREATE DATABASE inventory');
    await live.superSql("CREATE TABLE stock (sku text PRIMARY KEY); INSERT INTO stock VALUES ('a')", [], 'inventory');
    await live.switchWalAndWait();
    // Only compare reads the recovery's superuser Secret, once per database: app's read passes,
    // inventory's hangs (that API call hears no abort: the phase is abandoned while it waits).
    const secret = '/api/v1/namespaces/default/secrets/cx-drill-\\d+-1-superuser$';
    pgd.faults.add({ method: 'GET', path: secret, delayMs: 1 });
    pgd.faults.add({ method: 'GET', path: secret, hang: true });
    const since = Date.now();
    const secretReads = () =>
      pgd.requestLog.entries().filter((e) => e.time >= since && new RegExp(secret).test(e.path)).length;
    let poll: NodeJS.Timeout | undefined;
    try {
      const inputs = { cluster: 'cx', namespace: 'default', databases: 'app, inventory' };
      const r = await runDrill(pgd, inputs, {
        onSpawn: (child) => {
          poll = setInterval(() => {
            if (secretReads() < 2) return;
            clearInterval(poll);
            child.kill('SIGTERM');
          }, 20);
        },
      });
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.stdout).toContain('Received SIGTERM: cancelling the drill and tearing down.');
      expect(r.summary).toMatch(/### Database `app`: \d+ tables compared/);
      expect(r.summary).not.toContain('### Database `inventory`');
      const { result } = r.report as { result: DrillResult };
      expect(result.databases.map((d) => d.database)).toEqual(['app']);
      expect(result.error?.kind).toBe('cancelled');
      await postLeavesNothing(r);
    } finally {
      clearInterval(poll);
      pgd.faults.clear();
    }
  });
});

/** The post step after a cancelled main: it repeats no teardown main verified, and nothing is left. */
async function postLeavesNothing(r: RunResult): Promise<void> {
  const name = r.state['recovery-cluster'];
  const post = await runAction('cnpg-restore-drill', 'post', {
    state: r.state,
    inputs: { kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8'), cluster: 'cx', namespace: 'default' },
    timeoutMs: 120_000,
  });
  expect(post.exitCode, explain(post)).toBe(0);
  if (name) {
    // Post repeats no teardown main verified (state 'torn-down').
    const verified = r.state['torn-down'] === 'true';
    expect(post.stdout).toMatch(
      new RegExp(
        `Recovery cluster default/${name}: ${verified ? 'torn down and verified by the main step; nothing to do' : 'nothing left'}`,
      ),
    );
    expect(leftovers(pgd, 'default', name)).toEqual([]);
  } else expect(post.stdout).toContain('nothing to tear down');
  expect(drillClusters(pgd, 'default')).toEqual([]);
}

describe('the post step stands alone: state only, no inputs (actions/runner#3514)', () => {
  it('after a SIGKILL of main mid-recovery, post tears down from STATE_* alone and leaves nothing', async () => {
    const r = await runDrill(
      pgd,
      { cluster: 'cx', namespace: 'default' },
      { killOn: { pattern: /recovery job \S+ is running/, signal: 'SIGKILL' } },
    );
    expect(r.signal, explain(r)).toBe('SIGKILL');
    const name = r.state['recovery-cluster'];
    expect(name).toMatch(/^cx-drill-\d+-1$/);
    expect(r.state['torn-down']).toBeUndefined();
    expect(r.state.kubeconfig).toBe(readFileSync(pgd.kubeconfigPath, 'utf8').trim());
    // Killed: nothing of main's teardown ran, the recovery cluster is still there.
    expect(pgd.store.get(CLUSTERS, 'default', name)).toBeDefined();
    // No INPUT_*, and no KUBECONFIG or ~/.kube/config to fall back on: only the saved state.
    const home = mkdtempSync(join(tmpdir(), 'post-home-'));
    const post = await runAction('cnpg-restore-drill', 'post', {
      state: r.state,
      env: { KUBECONFIG: join(home, 'missing'), HOME: home },
      timeoutMs: 120_000,
    });
    rmSync(home, { recursive: true, force: true });
    expect(post.exitCode, explain(post)).toBe(0);
    expect(post.stdout).toMatch(new RegExp(`Recovery cluster default/${name}: nothing left`));
    expect(post.masked.length).toBeGreaterThan(0);
    expect(leakedSecrets(post, [r.state.kubeconfig, ...live.secrets()])).toEqual([]);
    expect(leftovers(pgd, 'default', name)).toEqual([]);
    expect(drillClusters(pgd, 'default')).toEqual([]);
  });

  it('skips a teardown main verified: no API call, no kubeconfig needed', async () => {
    const since = Date.now();
    const state = { 'recovery-cluster': 'cx-drill-77-1', namespace: 'default', 'torn-down': 'true' };
    const post = await runAction('cnpg-restore-drill', 'post', {
      state,
      env: { KUBECONFIG: '/nonexistent/kubeconfig' },
    });
    expect(post.exitCode, explain(post)).toBe(0);
    expect(post.stdout).toContain(
      'Recovery cluster default/cx-drill-77-1: torn down and verified by the main step; nothing to do.',
    );
    expect(pgd.requestLog.entries().filter((e) => e.time >= since)).toEqual([]);
  });
});

describe('API faults', () => {
  it('transient faults at each step are retried: the drill passes, sweeps, notifies Slack, leaves nothing', async () => {
    const posts: { body: { text: string; blocks: unknown }; url: string }[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts.push({ body: JSON.parse(body), url: req.url ?? '' });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/secretpart`;
    // An expired drill cluster a cancelled run left behind (its post never ran): the sweep removes it.
    const old = new Date(Date.now() - 7 * 3_600_000).toISOString();
    pgd.store.create(CLUSTERS, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: {
        name: 'cx-drill-1-1',
        namespace: 'default',
        labels: { 'cnpg-actions.io/drill-of': 'cx', 'app.kubernetes.io/managed-by': 'cnpg-restore-drill' },
        annotations: { 'cnpg-actions.io/created-at': old },
      },
      spec: { instances: 1, storage: { size: '1Gi' } },
    });
    const base = '/apis/postgresql.cnpg.io/v1/namespaces/default';
    pgd.faults.add({ method: 'GET', path: `${base}/clusters/cx$`, status: 500, times: 2 });
    pgd.faults.add({ method: 'GET', path: `${base}/backups$`, status: 429, retryAfterSeconds: 1, times: 1 });
    pgd.faults.add({ method: 'POST', path: `${base}/clusters$`, status: 503, times: 1 });
    pgd.faults.add({
      method: 'GET',
      path: `${base}/clusters$`,
      query: 'watch=true',
      dropWatch: true,
      dropAfterMs: 300,
      times: 2,
    });
    pgd.faults.add({
      method: 'GET',
      path: '/apis/batch/v1/namespaces/default/jobs$',
      query: 'watch=true',
      dropWatch: true,
      dropAfterMs: 300,
      times: 1,
    });
    pgd.faults.add({ method: 'GET', path: '/api/v1/namespaces/default/secrets/cx-app$', hang: true, times: 1 });
    pgd.faults.add({ method: 'DELETE', path: `${base}/clusters/cx-drill-`, status: 500, times: 2 });
    pgd.faults.add({ method: 'POST', path: '/api/v1/namespaces/default/configmaps$', status: 409, times: 1 });
    try {
      const r = await runDrill(pgd, {
        cluster: 'cx',
        namespace: 'default',
        'credentials-secret': 'cx-app',
        'slack-webhook-url': webhook,
        'slack-on': 'always',
      });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.outputs.result).toBe('passed');
      expect(r.stdout).toMatch(/retrying get cluster default\/cx .*HTTP 500/);
      expect(r.stdout).toMatch(/retrying create cluster default\/cx-drill-\d+-1 .*HTTP 503/);
      expect(r.stdout).toMatch(/watch of the recovery cluster dropped/);
      expect(r.stdout).toContain('Sweeping expired drill cluster default/cx-drill-1-1');
      expect(pgd.store.get(CLUSTERS, 'default', 'cx-drill-1-1')).toBeUndefined();
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
      expect(drillClusters(pgd, 'default')).toEqual([]);
      expect(posts).toHaveLength(1);
      expect(posts[0].url).toBe('/services/T000/B000/secretpart');
      expect(posts[0].body.text).toMatch(/Restore drill passed: default\/cx/);
      expect(JSON.stringify(posts[0].body.blocks)).toContain('*RTO*');
      expect(leakedSecrets(r, [webhook, ...live.secrets()])).toEqual([]);
      expect(r.stderr).not.toMatch(/DeprecationWarning/);
    } finally {
      pgd.faults.clear();
      server.close();
    }
  });

  it('a persistent API error fails clearly and leaves nothing', async () => {
    pgd.faults.add({
      method: 'POST',
      path: '/apis/postgresql.cnpg.io/v1/namespaces/default/clusters$',
      status: 500,
      times: Infinity,
    });
    try {
      const r = await runDrill(pgd, { cluster: 'cx', namespace: 'default', 'record-history': false });
      expect(r.exitCode).toBe(1);
      expect(r.errors[0]).toMatch(
        /restore drill error \(unreachable, the backup was not judged\): could not create the recovery cluster cx-drill-\d+-1: HTTP 500/,
      );
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    } finally {
      pgd.faults.clear();
    }
  });
});

describe('teardown verification', () => {
  it('a volume kept by a Retain storage class is reported as a teardown failure', async () => {
    const r = await runDrill(pgd, {
      cluster: 'cx',
      namespace: 'default',
      'storage-class': 'retain',
      'record-history': false,
    });
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors[0]).toMatch(
      /restore drill failed: teardown incomplete: PersistentVolume pvc-[\w-]+ \(claim cx-drill-\d+-1-1\) is Released with reclaim policy Retain: delete it by hand/,
    );
    expect(r.summary).toMatch(/\| \*\*Teardown\*\* \| INCOMPLETE: PersistentVolume/);
    const name = r.outputs['recovery-cluster'];
    // Cluster, pods, jobs and PVCs are gone; only the retained volume stays (and is cleaned up here).
    const left = leftovers(pgd, 'default', name);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^PV\//);
    pgd.store.delete('v1/persistentvolumes', undefined, left[0].slice(3));
  });
});

describe('keep-on-failure', () => {
  it('keeps the failed recovery cluster, says so, and post leaves it alone', async () => {
    pgd.operator.settings.failRecovery = { cluster: /^cx-drill-/, message: 'simulated failure for keep-on-failure' };
    try {
      const r = await runDrill(pgd, {
        cluster: 'cx',
        namespace: 'default',
        'keep-on-failure': true,
        'record-history': false,
      });
      expect(r.exitCode).toBe(1);
      const name = r.outputs['recovery-cluster'];
      expect(r.stdout).toMatch(
        new RegExp(`keep-on-failure: the recovery cluster default/${name} is KEPT for debugging`),
      );
      expect(r.summary).toContain('KEPT for debugging');
      expect(pgd.store.get(CLUSTERS, 'default', name)).toBeDefined();
      const post = await runAction('cnpg-restore-drill', 'post', {
        state: r.state,
        inputs: { kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8') },
      });
      expect(post.stdout).toMatch(/is KEPT; delete it when done/);
      expect(pgd.store.get(CLUSTERS, 'default', name)).toBeDefined();
      // The user's cleanup: post without the keep flag.
      const { [`keep-recovery-cluster`]: _kept, ...state } = r.state;
      const clean = await runAction('cnpg-restore-drill', 'post', {
        state,
        inputs: { kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8') },
      });
      expect(clean.exitCode, explain(clean)).toBe(0);
      expect(leftovers(pgd, 'default', name)).toEqual([]);
    } finally {
      pgd.operator.settings.failRecovery = undefined;
    }
  });
});
