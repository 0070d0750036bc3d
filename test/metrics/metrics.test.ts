// The drill's metrics with the real thing: promtool proves every shipped alert fires and clears;
// a drill pushes to a real Pushgateway, a real Prometheus scrapes it and evaluates the rules; the
// textfile carries the last success over a failed drill.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster } from '../helpers/live-cluster.js';
import { explainCli, runCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';
import { repoRoot } from '../helpers/run-action.js';
import { RULE_TESTS, startMonitoring, writeRuleFile, type Monitoring } from './prometheus.js';

const dir = mkdtempSync(join(tmpdir(), 'metrics-'));

function promtoolTest(edit?: (t: string) => string): { status: number | null; out: string } {
  const d = mkdtempSync(join(dir, 'rules-'));
  writeRuleFile(d, edit);
  copyFileSync(RULE_TESTS, join(d, 'rules.test.yaml'));
  const r = spawnSync('promtool', ['test', 'rules', join(d, 'rules.test.yaml')], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('alert rules (promtool)', () => {
  it('the PrometheusRule is valid and every alert fires and clears in its promtool tests', () => {
    const d = mkdtempSync(join(dir, 'check-'));
    expect(execFileSync('promtool', ['check', 'rules', writeRuleFile(d)], { encoding: 'utf8' })).toMatch(
      /4 rules found/,
    );
    const ok = promtoolTest();
    expect(ok.status, ok.out).toBe(0);
    const tests = readFileSync(RULE_TESTS, 'utf8');
    for (const alert of [
      'CnpgRestoreDrillNotPassing',
      'CnpgRestoreDrillFailed',
      'CnpgRestoreDrillError',
      'CnpgRestoreDrillRtoOverObjective',
    ])
      expect(
        tests.match(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`, 'g'))?.length,
        alert,
      ).toBeGreaterThan(0);
  });

  it('the promtool tests catch a broken rule (an objective changed, a label dropped)', () => {
    expect(promtoolTest((t) => t.replace('> 1800', '> 3600')).status).not.toBe(0);
    expect(promtoolTest((t) => t.replace('8 * 86400', '10 * 86400')).status).not.toBe(0);
    expect(promtoolTest((t) => t.replace('result="error"', 'result="failed"')).status).not.toBe(0);
  });

  it('the dashboard queries only metrics the drill exports', () => {
    const dashboard = readFileSync(join(repoRoot, 'workflows/monitoring/cnpg-restore-drill.grafana.json'), 'utf8');
    const used = new Set(dashboard.match(/cnpg_restore_drill_[a-z_]+/g));
    const exported = readFileSync(join(repoRoot, 'actions/lib/drill/metrics.ts'), 'utf8');
    for (const m of used) expect(exported, m).toContain(`'${m.replace('cnpg_restore_drill_', '')}'`);
  });
});

describe('a drill pushes, Prometheus scrapes and alerts', () => {
  let pgd: PlaygroundHandle;
  let mon: Monitoring;
  beforeAll(async () => {
    mon = await startMonitoring();
    pgd = await startPlayground();
    await createLiveCluster(pgd, { name: 'shop', mode: 'in-tree', rows: 300, rowsAfterBackup: 10 });
  });
  afterAll(async () => {
    await pgd?.stop();
    await mon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a passing drill: RTO, RPO, phases and the last success reach Prometheus; a failing one alerts', async () => {
    const textfile = join(dir, 'drill.prom');
    const args = ['run', '--kubeconfig', pgd.kubeconfigPath, '--namespace', 'default', '--cluster', 'shop'];
    const sinks = ['--metrics-pushgateway-url', mon.pushgateway, '--metrics-textfile', textfile];
    const r = await runCli([...args, ...sinks, '--live-counts', 'exact', '--same-moment-wait', '0', '--json']);
    expect(r.code, explainCli(r)).toBe(0);
    const { result } = JSON.parse(r.stdout);
    const sel = '{namespace="default",cluster="shop"}';
    const value = async (m: string) => Number((await mon.query(`cnpg_restore_drill_${m}${sel}`))[0]?.value[1]);
    await waitFor('the drill metrics scraped', async () => !Number.isNaN(await value('rto_seconds')), 30_000, 500);
    expect(await value('rto_seconds')).toBe(result.rtoSeconds);
    expect(await value('rpo_bytes')).toBe(result.rpo.bytes ?? NaN);
    expect(await value('tables_compared')).toBe(4);
    expect(await value('schema_differences')).toBe(0);
    const passed = await mon.query(`cnpg_restore_drill_result{namespace="default",cluster="shop",result="passed"}`);
    expect(passed[0].value[1]).toBe('1');
    const phases = await mon.query(`cnpg_restore_drill_phase_duration_seconds${sel}`);
    expect(phases.map((p) => p.metric.phase)).toContain('create the recovery cluster');
    const success = await value('last_success_timestamp_seconds');
    expect(success).toBeGreaterThan(Date.now() / 1000 - 600);

    const failed = await runCli([...args, ...sinks, '--max-backup-age', '1s']);
    expect(failed.code, explainCli(failed)).toBe(1);
    await waitFor(
      'CnpgRestoreDrillFailed firing',
      async () =>
        (await mon.alerts()).some((a) => a.labels.alertname === 'CnpgRestoreDrillFailed' && a.state === 'firing'),
      30_000,
      500,
    );
    // The failed drill pushed no last success: the earlier one stands (Pushgateway POST semantics).
    expect(await value('last_success_timestamp_seconds')).toBe(success);
    // Polled like the alert: one fresh-clone run read the first drill's value here once (not reproduced).
    await waitFor(
      "the failed drill's last run scraped",
      async () => (await value('last_run_timestamp_seconds')) > success,
      30_000,
      500,
    );
    expect((await mon.alerts()).map((a) => a.labels.alertname)).not.toContain('CnpgRestoreDrillNotPassing');
    const text = readFileSync(textfile, 'utf8');
    expect(text).toContain(`cnpg_restore_drill_result{cluster="shop",namespace="default",result="failed"} 1`);
    expect(text).toContain(
      `cnpg_restore_drill_last_success_timestamp_seconds{cluster="shop",namespace="default"} ${success}`,
    );
  });
});
