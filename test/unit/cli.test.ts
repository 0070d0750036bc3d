// The CLI's pieces without a cluster: flags derived from action.yml, the environment fallback,
// where Kubernetes credentials come from, the exit codes, masking.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envName, helpText, parseCli, UsageError } from '../../actions/lib/cli/args.js';
import { cliCore } from '../../actions/lib/cli/core.js';
import { kubeconfigInput, SERVICE_ACCOUNT_TOKEN } from '../../actions/lib/cli/kubeconfig.js';
import { exitCode } from '../../actions/lib/cli/main.js';
import { copyLines } from '../../actions/lib/cli/plan.js';
import { planCopies } from '../../actions/lib/drill/recovery-copies.js';
import { fleetRows, fleetTable } from '../../actions/lib/cli/status.js';
import { HISTORY_NAMESPACE_LABEL as SOURCE } from '../../actions/lib/contracts/drill-record.js';
import { recordName } from '../../actions/lib/drill/record.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { currentActionYml } from '../../.ci/input-spec.js';

const declared = Object.keys((parse(currentActionYml()) as { inputs: Record<string, unknown> }).inputs);

describe('CLI flags', () => {
  it('every input of action.yml is a flag (kubeconfig a file path), listed in --help', () => {
    const argv = declared.flatMap((n) => [`--${n}`, `v-${n}`]);
    const a = parseCli(['run', ...argv], {});
    expect(Object.keys(a.inputs).sort()).toEqual(declared.filter((n) => n !== 'kubeconfig').sort());
    expect(a.inputs['row-count-tolerance']).toBe('v-row-count-tolerance');
    expect(a.kubeconfigPath).toBe('v-kubeconfig');
    for (const n of declared) expect(helpText()).toContain(`--${n} `);
    expect(helpText()).toMatch(/--timeout +.*\(default: 30m\)/);
  });

  it('an input may come from the environment; a flag wins', () => {
    const env = { [envName('slack-webhook-url')]: 'https://hooks.example/x', [envName('cluster')]: 'env-pg' };
    expect(envName('slack-webhook-url')).toBe('CNPG_RESTORE_DRILL_SLACK_WEBHOOK_URL');
    const a = parseCli(['run', '--cluster', 'flag-pg'], env);
    expect(a.inputs).toMatchObject({ cluster: 'flag-pg', 'slack-webhook-url': 'https://hooks.example/x' });
  });

  it('unknown flags and commands are usage errors', () => {
    expect(() => parseCli(['run', '--nope', 'x'], {})).toThrow(UsageError);
    expect(() => parseCli(['deploy'], {})).toThrow(/unknown command 'deploy'; use one of: run, plan, status/);
    expect(() => parseCli([], {})).toThrow(/no command/);
    expect(parseCli(['status', '--max-age', '8d', '--json'], {})).toMatchObject({ maxAge: '8d', json: true });
    // --print-slack previews: the action's slack-preview, so nothing is sent.
    expect(parseCli(['run', '--print-slack'], {})).toMatchObject({
      printSlack: true,
      inputs: { 'slack-preview': 'true' },
    });
  });
});

describe('CLI kubeconfig', () => {
  it('--kubeconfig FILE, then KUBECONFIG, then the in-cluster ServiceAccount', () => {
    const saved = { ...process.env };
    try {
      const dir = mkdtempSync(join(tmpdir(), 'cli-kc-'));
      writeFileSync(join(dir, 'kc'), 'apiVersion: v1\n');
      Object.assign(process.env, {
        KUBECONFIG: '/k',
        KUBERNETES_SERVICE_HOST: '10.0.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      });
      expect(kubeconfigInput(join(dir, 'kc'), dir)).toBe('apiVersion: v1\n');
      expect(() => kubeconfigInput(join(dir, 'missing'))).toThrow(/--kubeconfig .*missing cannot be read/);
      expect(kubeconfigInput(undefined, dir)).toBeUndefined(); // KUBECONFIG: kube/config.ts reads it
      delete process.env.KUBECONFIG;
      expect(kubeconfigInput(undefined, dir)).toBeUndefined(); // no token mounted: not in a pod
      const sa = join(dir, SERVICE_ACCOUNT_TOKEN, '..');
      mkdirSync(sa, { recursive: true });
      for (const f of ['token', 'ca.crt', 'namespace']) writeFileSync(join(sa, f), f === 'namespace' ? 'drills' : 'x');
      const kc = JSON.parse(kubeconfigInput(undefined, dir)!);
      expect(kc.clusters[0].cluster).toMatchObject({
        server: 'https://10.0.0.1:443',
        'certificate-authority': `${sa}/ca.crt`,
      });
      expect(kc.users[0].user['auth-provider'].config.tokenFile).toBe(`${sa}/token`);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('CLI exit codes and output', () => {
  it('maps the verdict: passed 0, failed 1, error 3, an input error 2 (usage)', () => {
    const r = (verdict: string, kind?: string) => ({ verdict, error: kind && { kind } }) as unknown as DrillResult;
    expect([exitCode(r('passed')), exitCode(r('failed')), exitCode(r('error', 'forbidden'))]).toEqual([0, 1, 3]);
    // A cluster that does not exist is found by preflight as an input error: still a usage error.
    expect(exitCode(r('error', 'input'))).toBe(2);
  });

  it('masks secrets in logs and outputs', () => {
    const lines: string[] = [];
    const { core, record } = cliCore({ cluster: 'pg' }, { err: (l) => lines.push(l), tty: false });
    core.setSecret('hunter2');
    core.info('password hunter2 used');
    core.setOutput('x', 'is hunter2');
    core.setFailed('hunter2 failed');
    expect(core.getInput('cluster')).toBe('pg');
    expect(lines).toEqual(['password *** used', 'error: *** failed']);
    expect(record).toMatchObject({ outputs: { x: 'is ***' }, failed: '*** failed' });
  });
});

describe('CLI status', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  const drill = (time: string, verdict: string) => ({ time, verdict, reasons: [], rtoSeconds: 60, rpoSeconds: 5 });
  const record = (namespace: string, cluster: string, drills: object[]) => ({
    metadata: { namespace, labels: { 'cnpg-actions.io/drill-history-of': cluster } },
    data: { drills: JSON.stringify(drills.map((d) => ({ backupId: null, recoveryCluster: 'x', runUrl: null, ...d }))) },
  });
  const recent = drill('2026-12-06T12:00:00Z', 'passed');

  it('a drill-enabled cluster without a record is a row saying never, stale under any max age', () => {
    const rows = fleetRows(
      [record('db', 'pg-a', [recent])],
      [
        { namespace: 'db', cluster: 'pg-a' },
        { namespace: 'billing', cluster: 'ledger' },
      ],
      8 * 86_400_000,
      now,
    );
    expect(rows.map((r) => [r.namespace, r.cluster, r.never ?? false, r.stale])).toEqual([
      ['billing', 'ledger', true, true],
      ['db', 'pg-a', false, false],
    ]);
    const table = fleetTable(rows, now).split('\n');
    expect(table[2]).toBe('| billing | ledger | never | - | - | - | - | - | STALE |');
    expect(table[3]).toBe('| db | pg-a | 2026-12-06T12:00:00Z | passed | 60 | 5 | 24h | 24h |  |');
    // Without a maximum age nothing is stale, a never-drilled cluster included.
    expect(fleetRows([], [{ namespace: 'db', cluster: 'pg-b' }], undefined, now)).toEqual([
      { namespace: 'db', cluster: 'pg-b', never: true, stale: false },
    ]);
  });

  it('a record kept in a sandbox counts for the live cluster it names, merged with the records next to it', () => {
    const old = drill('2026-11-01T12:00:00Z', 'passed');
    const failed = drill('2026-12-07T06:00:00Z', 'failed');
    const sandboxed = (ns: string, cluster: string, drills: object[]) => {
      const r = record('drill-sandbox', cluster, drills);
      return { ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, [SOURCE]: ns } } };
    };
    const rows = fleetRows(
      [record('db', 'pg-a', [old]), sandboxed('db', 'pg-a', [recent, failed]), sandboxed('billing', 'pg-a', [])],
      [
        { namespace: 'db', cluster: 'pg-a' },
        { namespace: 'billing', cluster: 'pg-a' },
      ],
      8 * 86_400_000,
      now,
    );
    expect(rows.map((r) => [r.namespace, r.cluster, r.never ?? false, r.recordedIn, r.last?.verdict, r.stale])).toEqual(
      [
        ['billing', 'pg-a', false, 'drill-sandbox', undefined, true],
        ['db', 'pg-a', false, 'drill-sandbox', 'failed', false],
      ],
    );
    expect(rows[1].lastPassed).toBe(recent.time);
    // Where it is kept: next to live by its cluster's name; at a site with the live namespace too.
    expect(recordName('db', { namespace: 'db', cluster: 'pg-a' })).toBe('cnpg-restore-drill-pg-a');
    expect(recordName('drill-sandbox', { namespace: 'db', cluster: 'pg-a' })).toBe('cnpg-restore-drill-db-pg-a');
  });

  it('a record older than the maximum age, or with no pass, is stale', () => {
    const old = record('db', 'old', [drill('2026-11-01T00:00:00Z', 'passed')]);
    const failing = record('db', 'failing', [drill('2026-12-07T11:00:00Z', 'failed')]);
    expect(fleetRows([old, failing], [], 8 * 86_400_000, now).map((r) => [r.cluster, r.stale])).toEqual([
      ['failing', true],
      ['old', true],
    ]);
  });
});

describe('plan: the copies a recovery in another namespace needs', () => {
  it('lists what copy-to-site.ts copies: store keys, pull secrets, env/envFrom sources, the ServiceAccount', () => {
    const store = { s3Credentials: { accessKeyId: { name: 'S3-Creds', key: 'ID' } } };
    const pod = {
      imagePullSecrets: [{ name: 'registry' }],
      envFrom: [{ configMapRef: { name: 'tuning', optional: true } }],
      env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'vault', key: 'token' } } }],
      serviceAccountName: 'pg-identity',
    };
    const lines = copyLines(planCopies(store, undefined, pod), 'shop-drill-1', 'prod', 'sandbox');
    expect(lines).toEqual([
      'Secret sandbox/shop-drill-1-S3-Creds <- prod/S3-Creds (keys ID)',
      'Secret sandbox/shop-drill-1-vault <- prod/vault (keys token)',
      'Secret sandbox/shop-drill-1-registry <- prod/registry (all keys)',
      'ConfigMap sandbox/shop-drill-1-tuning <- prod/tuning (all keys, if present)',
      'ServiceAccount sandbox/pg-identity must exist (not copied)',
    ]);
  });
});
