// The drill on every bootstrap mechanism the operator has used (test/playground/CONFORMANCE.md
// section 6.v): the oldest supported release (1.25, Job bootstrap, phase never leaves 'Setting up
// primary' on failure), 1.30 (Job bootstrap, unrecoverable once the Job exhausts its upstream
// back-off) and main+pr11319 (in-pod bootstrap in the `bootstrap-instance` init container). One
// playground per version, reused by every case: a healthy drill in-tree and with the plugin
// (from 1.26, as the plugin requires), a corrupt backup failing at its first failed attempt with
// barman-cloud-restore's own error, a stall reported with what it last saw, and a cancellation.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { bootstrapMode, pluginsSupported } from '../playground/cnpg/versions.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { leakedSecrets, runAction } from '../helpers/run-action.js';
import { corruptBaseBackup } from './archive.js';
import { drillClusters, explain, leftovers, runDrill } from './support.js';

const VERSIONS = (process.env.DRILL_VERSIONS ?? '1.25.4,1.30.0,main+pr11319').split(',');

describe.each(VERSIONS)('operator %s', (version) => {
  const inPod = bootstrapMode(version) === 'in-pod';
  const running = inPod
    ? /recovery is running in init container bootstrap-instance of pod \S+-1/
    : /recovery job \S+-1-full-recovery is running/;
  let pgd: PlaygroundHandle;
  let live: LiveCluster;

  beforeAll(async () => {
    pgd = await startPlayground({ operatorVersion: version });
    live = await createLiveCluster(pgd, { name: 'vx', mode: 'in-tree', rows: 400, rowsAfterBackup: 25 });
  });
  afterAll(async () => {
    await pgd?.stop();
  });

  it('in-tree: a healthy drill passes, its restore seen where this version runs it', async () => {
    const r = await runDrill(pgd, {
      cluster: 'vx',
      namespace: 'default',
      'row-count-tolerance': 0,
      'row-count-floor': 0,
      'record-history': false,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    expect(r.stdout).toMatch(running);
    expect(r.outputs['rpo-seconds']).not.toBe('');
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    expect(leakedSecrets(r, live.secrets())).toEqual([]);
  });

  it.skipIf(!pluginsSupported(version))('plugin: a healthy drill passes through the ObjectStore', async () => {
    const plug = await createLiveCluster(pgd, { name: 'vp', mode: 'plugin', rows: 200, rowsAfterBackup: 9 });
    try {
      const r = await runDrill(pgd, { cluster: 'vp', namespace: 'default', 'record-history': false });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.stdout).toContain("backup mode plugin, server name 'vp'");
      expect(r.stdout).toMatch(running);
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    } finally {
      await plug.destroy();
    }
  });

  it("a corrupt backup fails at its first failed attempt with the restore's own error", async () => {
    const bad = await createLiveCluster(pgd, { name: 'vc', mode: 'in-tree', rows: 50 });
    try {
      const backup = pgd.store
        .list('postgresql.cnpg.io/v1/backups', 'default')
        .items.find((x) => x.spec.cluster.name === 'vc')!;
      corruptBaseBackup(pgd, bad, backup.status.backupId);
      const t0 = Date.now();
      const r = await runDrill(pgd, { cluster: 'vc', namespace: 'default', 'record-history': false });
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.outputs.result).toBe('failed');
      const error = r.errors.join('\n');
      expect(error).toMatch(
        inPod
          ? /bootstrap init container of pod vc-drill-\S+-1 \(container bootstrap-instance\) (exited with code 1|is crash-looping)/
          : /recovery job vc-drill-\S+-1-full-recovery failed: pod \S+ \(container full-recovery\) exited with code 1/,
      );
      expect(error).toMatch(/ERROR: Barman cloud restore exception/);
      // The first attempt, not the Job's exhausted back-off nor a later phase.
      expect(error).not.toMatch(/Instance creation failed|BackoffLimitExceeded/);
      expect(r.summary).toMatch(/Barman cloud restore exception/);
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
      console.log(
        `operator ${version}: corrupt backup -> drill failed in ${Date.now() - t0} ms: ${error.split('\n')[0].slice(0, 240)}`,
      );
    } finally {
      await bad.destroy();
    }
  });

  it('a recovery that restores no new WAL is reported as stalled with what it last saw', async () => {
    pgd.operator.settings.stallRecovery = /^vx-drill-/;
    try {
      const r = await runDrill(pgd, {
        cluster: 'vx',
        namespace: 'default',
        'stall-timeout': '6s',
        'record-history': false,
      });
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.errors.join('\n')).toMatch(
        new RegExp(
          `recovery stalled: no new WAL restored for \\d+ s \\(stall-timeout 6 s\\); last seen: ${inPod ? 'init container of pod \\S+-1/bootstrap-instance' : 'job pod \\S+-full-recovery-\\w+/full-recovery'}; base backup restored, no WAL restored yet; last log line: Waiting for the recovery`,
        ),
      );
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    } finally {
      pgd.operator.settings.stallRecovery = undefined;
    }
  });

  it('cancelled while the restore runs: main tears down, post leaves nothing', async () => {
    const r = await runDrill(
      pgd,
      { cluster: 'vx', namespace: 'default', 'record-history': false },
      { killOn: { pattern: running, signal: 'SIGTERM' } },
    );
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toContain('Received SIGTERM: cancelling the drill and tearing down.');
    const post = await runAction('cnpg-restore-drill', 'post', {
      state: r.state,
      inputs: { kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8'), cluster: 'vx', namespace: 'default' },
      timeoutMs: 120_000,
    });
    expect(post.exitCode, explain(post)).toBe(0);
    expect(leftovers(pgd, 'default', r.state['recovery-cluster'])).toEqual([]);
    expect(drillClusters(pgd, 'default')).toEqual([]);
  });
});
