// The CLI on the playground: `run` passes and fails with the action's engine and exit codes,
// `plan` prints the recovery Cluster and writes nothing, `status` reads the fleet's records.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster } from '../helpers/live-cluster.js';
import { explainCli, runCli } from '../helpers/run-cli.js';
import { drillClusters, runDrill, writes } from '../drill/support.js';
import { reportProblems } from '../helpers/report-schema.js';
import { repoRoot, requireNode24 } from '../helpers/run-action.js';

let pgd: PlaygroundHandle;
const DRILL_LABEL = 'cnpg-actions.io/drill';
const kubectl = (args: string[]) =>
  promisify(execFile)(join(repoRoot, '.tools/bin/kubectl'), args, {
    env: { ...process.env, KUBECONFIG: pgd.kubeconfigPath },
  });
const dir = mkdtempSync(join(tmpdir(), 'cli-'));
const base = () => ['--kubeconfig', pgd.kubeconfigPath, '--namespace', 'default'];
// As the drill suites: judge with the tolerance (pinning waits for archive_timeout; drill-targets proves it).
const quick = ['--live-counts', 'exact', '--same-moment-wait', '0'];

beforeAll(async () => {
  pgd = await startPlayground();
  await createLiveCluster(pgd, { name: 'shop', mode: 'in-tree', rows: 400, rowsAfterBackup: 20 });
});
afterAll(async () => {
  await pgd?.stop();
});

describe('cnpg-restore-drill CLI', () => {
  it('plan prints the exact recovery Cluster, the checks, and writes nothing', async () => {
    const since = Date.now();
    const report = join(dir, 'plan.json');
    const r = await runCli(['plan', ...base(), '--cluster', 'shop', ...quick, '--report', report]);
    expect(r.code, explainCli(r)).toBe(0);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(reportProblems(written)).toEqual([]);
    expect(written).toMatchObject({ command: 'plan', plan: { copies: [] } });
    const manifest = parse(r.stdout);
    expect(manifest).toMatchObject({
      kind: 'Cluster',
      metadata: { namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'cnpg-restore-drill' } },
      spec: { instances: 1, bootstrap: { recovery: { source: 'shop' } } },
    });
    expect(manifest.metadata.name).toMatch(/^shop-drill-/);
    expect(r.stdout).toContain('# Checks\n#   - recovery target: latest');
    expect(r.stdout).toContain('none (the recovery runs in the live namespace)');
    expect(writes(pgd, since)).toEqual([]);
    expect(drillClusters(pgd, 'default')).toEqual([]);
  });

  it('run passes (exit 0), prints JSON and writes the report; status lists it', async () => {
    // Drill-enabled and never drilled: a row saying so, and stale whatever the age.
    await kubectl([
      'label',
      '--overwrite',
      '-n',
      'default',
      'clusters.postgresql.cnpg.io/shop',
      `${DRILL_LABEL}=enabled`,
    ]);
    const never = await runCli(['status', '--kubeconfig', pgd.kubeconfigPath, '--max-age', '8d']);
    expect(never.code, explainCli(never)).toBe(1);
    expect(never.stdout).toMatch(/\| default \| shop \| never \| - \|.*\| STALE \|/);
    expect(never.stderr).toContain('stale: default/shop was never drilled');
    const report = join(dir, 'report.json');
    const r = await runCli(['run', ...base(), '--cluster', 'shop', ...quick, '--json', '--report', report]);
    expect(r.code, explainCli(r)).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ exitCode: 0, verdict: 'passed', outputs: { result: 'passed' } });
    expect(out.result.rtoSeconds).toBeGreaterThan(0);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(written.result.recoveryCluster).toBe(out.outputs['recovery-cluster']);
    expect(reportProblems(written)).toEqual([]);
    expect(reportProblems(out)).toEqual([]);
    expect(r.stderr).toContain('▶ create the recovery cluster');
    expect(drillClusters(pgd, 'default')).toEqual([]);

    const fresh = await runCli(['status', '--kubeconfig', pgd.kubeconfigPath, '--max-age', '8d']);
    expect(fresh.code, explainCli(fresh)).toBe(0);
    expect(fresh.stdout).toMatch(/\| default \| shop \| \S+ \| passed \|/);
    await new Promise((res) => setTimeout(res, 1500));
    const stale = await runCli(['status', '--max-age', '1s', '--json'], { KUBECONFIG: pgd.kubeconfigPath });
    expect(stale.code, explainCli(stale)).toBe(1);
    expect(JSON.parse(stale.stdout).clusters).toEqual([
      expect.objectContaining({ namespace: 'default', cluster: 'shop', stale: true }),
    ]);
    expect(stale.stderr).toContain('stale: default/shop has no passing drill within 1s');
  });

  it('a failed drill exits 1 with its reasons; usage errors exit 2 and change nothing', async () => {
    const report = join(dir, 'failed.json');
    const failed = await runCli([
      'run',
      ...base(),
      '--cluster',
      'shop',
      ...quick,
      '--max-backup-age',
      '1s',
      '--report',
      report,
      // The payload Slack would get, printed; a webhook no one listens on proves nothing is sent.
      '--print-slack',
      '--slack-webhook-url',
      'http://127.0.0.1:9/services/T1/B1/cli',
    ]);
    expect(failed.code, explainCli(failed)).toBe(1);
    const payload = JSON.parse(failed.stdout.slice(failed.stdout.indexOf('\n{') + 1));
    expect(payload.text).toMatch(/default\/shop/);
    expect(payload.blocks.length).toBeGreaterThan(0);
    expect(failed.stderr).not.toMatch(/Slack notification failed|Posted the drill result/);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(reportProblems(written)).toEqual([]);
    expect(written.result.reasons).toEqual([expect.stringMatching(/older than max-backup-age 1s/)]);
    // The action writes the same report (output report-path); runDrill validates it against the schema.
    const action = await runDrill(pgd, { cluster: 'shop', namespace: 'default', 'max-backup-age': '1s' });
    expect(action.exitCode).toBe(1);
    expect(action.outputs['report-path']).toMatch(/cnpg-restore-drill-default-shop-\d+-1\.json$/);
    expect(action.report).toMatchObject({
      command: 'run',
      verdict: 'failed',
      result: { reasons: [expect.stringMatching(/older than max-backup-age 1s/)] },
    });
    expect(failed.stdout).toMatch(/restore drill FAILED: default\/shop\n {2}- newest completed backup .* older than/);
    const since = Date.now();
    for (const args of [
      ['run', ...base(), '--cluster', 'nope'],
      ['run', ...base(), '--cluster', 'shop', '--verify', 'maybe'],
      ['run', ...base(), '--cluster', 'shop', '--no-such-flag', 'x'],
      ['frobnicate'],
    ]) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}\n${explainCli(r)}`).toBe(2);
    }
    expect(writes(pgd, since)).toEqual([]);
  });
});

describe('fleet template (workflows/cnpg-restore-drill-fleet.yml)', () => {
  type Step = { id?: string; name?: string; run?: string };
  const jobs = (
    parse(readFileSync(join(repoRoot, 'workflows/cnpg-restore-drill-fleet.yml'), 'utf8')) as {
      jobs: Record<string, { steps: Step[]; strategy?: Record<string, unknown> }>;
    }
  ).jobs;
  const script = (job: string, pick: (s: Step) => boolean) => jobs[job].steps.find(pick)!.run!;

  /** Runs a template step's script with bash as the runner would: RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY.
   *  Asynchronously: the playground's API server runs in this process. */
  async function runStep(run: string, env: Record<string, string>, cwd = dir) {
    const runner = mkdtempSync(join(dir, 'runner-'));
    const files = { GITHUB_OUTPUT: join(runner, 'output'), GITHUB_STEP_SUMMARY: join(runner, 'summary') };
    for (const f of Object.values(files)) writeFileSync(f, '');
    // The runner's `node` is Node 24 (actions/setup-node in the template).
    const bin = mkdtempSync(join(dir, 'bin-'));
    symlinkSync(requireNode24(), join(bin, 'node'));
    const r = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', run], {
      cwd,
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${join(repoRoot, '.tools/bin')}:${process.env.PATH}`,
        RUNNER_TEMP: runner,
        ...files,
        ...env,
      },
    }).then(
      (ok) => ({ status: 0, stderr: ok.stderr }),
      (err: { code: number; stderr: string }) => ({ status: err.code, stderr: err.stderr }),
    );
    return {
      ...r,
      output: readFileSync(files.GITHUB_OUTPUT, 'utf8'),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    };
  }

  it('discovers labelled Clusters across namespaces into a max-parallel matrix; status fills the summary', async () => {
    expect(jobs.drill.strategy).toMatchObject({ 'fail-fast': false, 'max-parallel': expect.stringContaining('2') });
    await createLiveCluster(pgd, { name: 'ledger', namespace: 'billing', backup: false, rows: 10 });
    const kubeconfig = readFileSync(pgd.kubeconfigPath, 'utf8');
    const label = (ns: string, name: string, value: string) =>
      kubectl(['label', '--overwrite', '-n', ns, `clusters.postgresql.cnpg.io/${name}`, `${DRILL_LABEL}=${value}`]);
    await label('default', 'shop', 'enabled');
    await label('billing', 'ledger', 'enabled');
    const discover = script('discover', (s) => s.id === 'discover');
    const both = await runStep(discover, { KUBECONFIG_TEXT: kubeconfig, SELECTOR: 'cnpg-actions.io/drill=enabled' });
    expect(both.status, both.stderr).toBe(0);
    expect(both.output).toBe(
      'clusters=[{"namespace":"billing","cluster":"ledger"},{"namespace":"default","cluster":"shop"}]\n',
    );
    // The status job, with the CLI where the template checks it out (.cnpg-actions).
    const checkout = mkdtempSync(join(dir, 'checkout-'));
    symlinkSync(repoRoot, join(checkout, '.cnpg-actions'));
    const status = script('status', (s) => s.name === 'Fleet table');
    const selector = 'cnpg-actions.io/drill=enabled';
    // Discovered but not drilled yet (its drill failed or was skipped): listed, and the fleet is stale.
    const undrilled = await runStep(
      status,
      { KUBECONFIG_TEXT: kubeconfig, MAX_AGE: '8d', SELECTOR: selector },
      checkout,
    );
    expect(undrilled.status).toBe(1);
    expect(undrilled.summary).toMatch(/\| billing \| ledger \| never \| - \|[^\n]*\| STALE \|/);
    await label('billing', 'ledger', 'disabled');
    const one = await runStep(discover, { KUBECONFIG_TEXT: kubeconfig, SELECTOR: 'cnpg-actions.io/drill=enabled' });
    expect(one.output).toBe('clusters=[{"namespace":"default","cluster":"shop"}]\n');

    const ok = await runStep(status, { KUBECONFIG_TEXT: kubeconfig, MAX_AGE: '8d', SELECTOR: selector }, checkout);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.summary).toMatch(
      // The last drill is the failed one above; the pass before it still counts within 8d.
      /^## Restore drills: the fleet\n\| Namespace \| Cluster \|[^\n]*\n[^\n]*\n\| default \| shop \| \S+ \| failed \| - \| - \| \d+m \| \d+m \| {2}\|\n$/,
    );
    const stale = await runStep(status, { KUBECONFIG_TEXT: kubeconfig, MAX_AGE: '1s', SELECTOR: selector }, checkout);
    expect(stale.status).toBe(1);
    expect(stale.summary).toContain('| STALE |');
  });
});
