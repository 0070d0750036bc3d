// A recovery that cannot start fails within a minute, naming what is missing, instead of at
// `timeout`: once START_GRACE_MS have passed without the restore container running, what the
// operator and Kubernetes created is read to say why (test/playground/CONFORMANCE.md, branch
// conform): CNPG returns a failed Job create only to its own log and the Cluster sits in
// 'Setting up primary' (cloudnative-pg#6753); a Job whose pod is refused says so in a FailedCreate
// event; a pod whose container references a missing Secret, ConfigMap or pull secret waits in
// CreateContainerConfigError or ErrImagePull. A pod waiting to be scheduled is not judged: a
// cluster autoscaler may take minutes to add a node.
import type { CoreV1Event, V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { sleep, withRetry, type RetryOptions } from '../kube/retry.js';
import { getCluster } from '../cnpg/api.js';

export const START_GRACE_MS = 45_000;
const POLL_MS = 5_000;
/** Container waiting reasons no wait cures: a missing Secret/ConfigMap key, an image that cannot be pulled. */
const BLOCKED = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'ErrImageNeverPull',
  'ErrImagePull',
  'ImagePullBackOff',
]);

export interface StartCheckOptions {
  /** When the recovery Cluster was created (epoch ms). */
  created: number;
  /** True once the restore container has started (then nothing is judged). */
  started: () => boolean;
  signal: AbortSignal;
  retry?: RetryOptions;
  graceMs?: number;
  pollMs?: number;
}

/** Resolves with why the recovery cannot start, once that is clear after the grace; never while it starts. */
export async function cannotStart(
  clients: KubeClients,
  namespace: string,
  name: string,
  opts: StartCheckOptions,
): Promise<{ fail: string; cannotStart: true; ok?: undefined }> {
  const grace = opts.graceMs ?? START_GRACE_MS;
  let previous: string | undefined;
  for (;;) {
    await sleep(Math.max(opts.pollMs ?? POLL_MS, opts.created + grace - Date.now()), opts.signal);
    if (opts.started()) return new Promise(() => {}); // started: the other watches judge from here
    const why = await diagnoseStart(clients, namespace, name, opts.retry).catch(() => undefined);
    // The same answer twice in a row: a Job just deleted before its instance pod appears is no verdict.
    const seenTwice = why !== undefined && why === previous;
    previous = why;
    if (seenTwice && !opts.started()) {
      const s = Math.round((Date.now() - opts.created) / 1000);
      return { fail: `recovery cluster ${name} could not start its restore within ${s} s: ${why}`, cannotStart: true };
    }
  }
}

/** Why the restore has not started, from the pods, Jobs and Cluster; undefined while a pod is on its way. */
export async function diagnoseStart(
  clients: KubeClients,
  namespace: string,
  name: string,
  retry?: RetryOptions,
): Promise<string | undefined> {
  const labelSelector = `cnpg.io/cluster=${name}`;
  const pods = await withRetry(
    `list pods of ${name}`,
    () => clients.core.listNamespacedPod({ namespace, labelSelector }),
    retry,
  );
  if (pods.items.length) return blockedPod(pods.items);
  const jobs = await withRetry(
    `list jobs of ${name}`,
    () => clients.batch.listNamespacedJob({ namespace, labelSelector }),
    retry,
  );
  if (jobs.items.length) return jobWithoutPod(clients, namespace, jobs.items[0], retry);
  const cluster = await getCluster(clients, namespace, name, retry).catch(() => undefined);
  if (cluster?.status?.currentPrimary) return undefined; // bootstrapped: between pods
  const phase = cluster?.status?.phase;
  const reason = cluster?.status?.phaseReason;
  const warnings = await warningEvents(clients, namespace, 'Cluster', name, retry);
  return (
    `the operator created neither the recovery Job ${name}-1-full-recovery nor the instance pod ${name}-1 ` +
    `(cluster phase '${phase || 'none'}'${reason ? `: ${reason}` : ''}${warnings ? `; events: ${warnings}` : ''}). ` +
    `CNPG reports a refused create only in its own log (a derived name over 63 characters, cloudnative-pg#6753, ` +
    `a missing ServiceAccount): read the operator's log`
  );
}

function blockedPod(pods: V1Pod[]): string | undefined {
  for (const p of pods) {
    const statuses: V1ContainerStatus[] = [
      ...(p.status?.initContainerStatuses ?? []),
      ...(p.status?.containerStatuses ?? []),
    ];
    const st = statuses.find((c) => BLOCKED.has(c.state?.waiting?.reason ?? ''));
    const w = st?.state?.waiting;
    if (st && w)
      return `pod ${p.metadata?.name} container ${st.name} is waiting in ${w.reason}${w.message ? ` (${w.message})` : ''}`;
  }
  return undefined;
}

async function jobWithoutPod(
  clients: KubeClients,
  namespace: string,
  job: V1Job,
  retry?: RetryOptions,
): Promise<string> {
  const name = job.metadata?.name ?? '?';
  const warnings = await warningEvents(clients, namespace, 'Job', name, retry);
  return `Job ${name} has no pod${warnings ? `: ${warnings}` : ' (no event says why)'}`;
}

/** The object's distinct Warning event messages, newest last ('' when none or events cannot be read). */
async function warningEvents(
  clients: KubeClients,
  namespace: string,
  kind: string,
  name: string,
  retry?: RetryOptions,
): Promise<string> {
  const fieldSelector = `involvedObject.kind=${kind},involvedObject.name=${name},type=Warning`;
  const events = await withRetry(
    `list events of ${kind} ${name}`,
    () => clients.core.listNamespacedEvent({ namespace, fieldSelector }),
    retry,
  ).catch(() => undefined);
  const lines = (events?.items ?? []).map((e: CoreV1Event) => `${e.reason}: ${e.message}`);
  return [...new Set(lines)].slice(-3).join(' | ');
}
