// Drill latencies on the playground, measured from outside the bundle:
// - recovery cluster healthy (seen in the API store) -> the drill logs it noticed;
// - recovery Job Failed (seen in the store) -> the drill decides (starts teardown) and exits;
// - cold start: process spawn -> its first API request (the playground's request log).
import { readFileSync } from 'node:fs';
import { startPlayground } from '../playground/playground.js';
import { createLiveCluster, isHealthy } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { runAction, type RunOptions } from '../helpers/run-action.js';
import type { KubeObject, PlaygroundHandle } from '../playground/types.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** First time (ms) `test` holds for an object of `gvr` in default whose name starts with `prefix`. */
function watchStore(
  pgd: PlaygroundHandle,
  gvr: string,
  prefix: string,
  test: (o: KubeObject) => boolean,
): { at: () => number; stop: () => void } {
  let at = 0;
  const stop = pgd.store.watch(gvr, 'default', {}, (ev) => {
    if (!at && ev.object.metadata.name.startsWith(prefix) && ev.type !== 'DELETED' && test(ev.object)) at = Date.now();
  });
  return { at: () => at, stop };
}

function lineTimes(patterns: Record<string, RegExp>, times: Record<string, number>): RunOptions['onSpawn'] {
  return (child) => {
    let seen = '';
    times.spawn = Date.now();
    child.stdout!.on('data', (d) => {
      seen += d;
      for (const [k, re] of Object.entries(patterns)) if (!times[k] && re.test(seen)) times[k] = Date.now();
    });
    child.on('exit', () => (times.exit = Date.now()));
  };
}

export async function benchDrill(log: (line: string) => void): Promise<Record<string, number>> {
  ensureDrillBundle(log);
  const pgd = await startPlayground();
  try {
    pgd.operator.settings.jobBackoffLimit = 0;
    await createLiveCluster(pgd, { name: 'bench', rows: 2000 });
    const kubeconfig = readFileSync(pgd.kubeconfigPath, 'utf8');
    let run = 0;
    const drill = (
      times: Record<string, number>,
      patterns: Record<string, RegExp>,
      extra: Record<string, string> = {},
    ) =>
      runAction('cnpg-restore-drill', 'main', {
        inputs: { cluster: 'bench', namespace: 'default', kubeconfig, 'record-history': 'false', ...extra },
        env: { GITHUB_RUN_ID: String(700 + ++run) },
        onSpawn: lineTimes(patterns, times),
      });

    const healthyToNoticed: number[] = [];
    const coldStart: number[] = [];
    for (let i = 0; i < 3; i++) {
      const w = watchStore(pgd, 'postgresql.cnpg.io/v1/clusters', 'bench-drill-', isHealthy);
      const times: Record<string, number> = {};
      const r = await drill(times, { noticed: /recovery cluster healthy after/ });
      w.stop();
      if (r.exitCode !== 0) throw new Error(`drill failed: ${r.errors.join('; ')}`);
      healthyToNoticed.push(times.noticed - w.at());
      const first = pgd.requestLog.entries().find((e) => e.time >= times.spawn);
      if (first) coldStart.push(first.time - times.spawn);
      log(
        `healthy drill ${i + 1}: healthy -> noticed ${times.noticed - w.at()} ms; spawn -> first API request ${first ? first.time - times.spawn : 'n/a'} ms; RTO ${r.outputs['rto-seconds']} s`,
      );
    }

    const jobFailedToFailed: number[] = [];
    const jobFailedToExit: number[] = [];
    for (const version of ['1.27.0', '1.30.0']) {
      pgd.operator.settings.version = version;
      pgd.operator.settings.failRecovery = {
        cluster: /^bench-drill-/,
        message: 'benchmark: simulated recovery failure',
      };
      const w = watchStore(
        pgd,
        'batch/v1/jobs',
        'bench-drill-',
        (j) =>
          !!j.status?.conditions?.some(
            (c: { type: string; status: string }) => c.type === 'Failed' && c.status === 'True',
          ),
      );
      const times: Record<string, number> = {};
      const r = await drill(times, { decided: /Deleting recovery cluster/ });
      w.stop();
      pgd.operator.settings.failRecovery = undefined;
      if (r.exitCode !== 1) throw new Error('the failing recovery did not fail the drill');
      jobFailedToFailed.push(times.decided - w.at());
      jobFailedToExit.push(times.exit - w.at());
      log(
        `operator ${version}: job Failed -> drill fails (teardown starts) ${times.decided - w.at()} ms, -> step exits ${times.exit - w.at()} ms`,
      );
    }
    pgd.operator.settings.version = '1.30.0';
    return {
      healthy_to_noticed_ms: median(healthyToNoticed),
      job_failed_to_drill_failed_ms: median(jobFailedToFailed),
      job_failed_to_step_exit_ms: median(jobFailedToExit),
      cold_start_to_first_api_request_ms: median(coldStart),
    };
  } finally {
    await pgd.stop();
  }
}
