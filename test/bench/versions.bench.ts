// First failed recovery attempt -> drill failed, on each bootstrap mechanism
// (test/playground/CONFORMANCE.md 6.v): Job bootstrap (1.30.0) with Kubernetes' default back-off
// (backoffLimit 6, 10 s doubling, time scaled down by the playground) and in-pod bootstrap
// (`main`, init container restarted with CrashLoopBackOff). The first failed attempt is read in
// the API store (a Failed Job pod / the init container terminated non-zero); the drill has
// failed when it starts its teardown. Target: <= 30 s each, printed as a ratio (< 1 meets it).
import { readFileSync } from 'node:fs';
import { startPlayground } from '../playground/playground.js';
import { createLiveCluster } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { runAction } from '../helpers/run-action.js';
import type { KubeObject } from '../playground/types.js';

const TARGET_MS = 30_000;

type Exit = { terminated?: { exitCode?: number } };
const firstFailure = (pod: KubeObject) => {
  const statuses: { state?: Exit; lastState?: Exit }[] = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ];
  return (
    pod.status?.phase === 'Failed' ||
    statuses.some((c) => (c.state?.terminated?.exitCode ?? 0) !== 0 || (c.lastState?.terminated?.exitCode ?? 0) !== 0)
  );
};

async function firstAttemptToFailed(version: string, log: (line: string) => void): Promise<number> {
  const pgd = await startPlayground({ operatorVersion: version });
  try {
    await createLiveCluster(pgd, { name: 'benchv', rows: 500 });
    pgd.operator.settings.failRecovery = {
      cluster: /^benchv-drill-/,
      message: 'ERROR: benchmark: simulated barman-cloud-restore failure',
    };
    let failedAt = 0;
    const stop = pgd.store.watch('v1/pods', 'default', {}, (ev) => {
      if (
        !failedAt &&
        ev.type !== 'DELETED' &&
        ev.object.metadata.name.startsWith('benchv-drill-') &&
        firstFailure(ev.object)
      )
        failedAt = Date.now();
    });
    let decidedAt = 0;
    let seen = '';
    const r = await runAction('cnpg-restore-drill', 'main', {
      inputs: {
        cluster: 'benchv',
        namespace: 'default',
        kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8'),
        'record-history': 'false',
      },
      env: { GITHUB_RUN_ID: String(800 + Math.floor(Math.random() * 100)) },
      onSpawn: (child) =>
        child.stdout!.on('data', (d) => {
          seen += d;
          if (!decidedAt && /Deleting recovery cluster/.test(seen)) decidedAt = Date.now();
        }),
    });
    stop();
    if (r.exitCode !== 1 || !failedAt || !decidedAt)
      throw new Error(
        `operator ${version}: the failing recovery did not fail the drill (exit ${r.exitCode}, first failure seen ${!!failedAt})`,
      );
    const ms = decidedAt - failedAt;
    log(`operator ${version}: first failed attempt -> drill failed ${ms} ms (${r.errors[0]?.slice(0, 160)})`);
    return ms;
  } finally {
    await pgd.stop();
  }
}

export async function benchFirstFailedAttempt(log: (line: string) => void): Promise<Record<string, number>> {
  ensureDrillBundle(log);
  const job = await firstAttemptToFailed('1.30.0', log);
  const inPod = await firstAttemptToFailed('main', log);
  return {
    job_bootstrap_first_failure_to_drill_failed_ms: job,
    job_bootstrap_vs_30s_target_ratio: Math.round((job / TARGET_MS) * 1000) / 1000,
    inpod_bootstrap_first_failure_to_drill_failed_ms: inPod,
    inpod_bootstrap_vs_30s_target_ratio: Math.round((inPod / TARGET_MS) * 1000) / 1000,
  };
}
