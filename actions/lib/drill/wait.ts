// Waits for the recovery cluster by watching two things at once: the Cluster (healthy per
// cnpg/health.ts, or a terminal phase) and its `<name>-1-full-recovery` Job. A failed Job fails
// the drill at once with its pod's log tail: operators before 1.28.4 / 1.29.2 / 1.30.0 keep the
// phase at 'Setting up primary' forever, so the Job is the only signal.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { withRetry, type RetryOptions } from '../kube/retry.js';
import { watchUntil, WaitTimeout } from '../kube/watch.js';
import { clustersPath } from '../cnpg/api.js';
import { clusterHealth } from '../cnpg/health.js';
import { CNPG_GROUP, CNPG_VERSION, Plural, type Cluster } from '../cnpg/types.js';

export interface RecoveryTimings {
  /** Epoch ms when each was first observed. */
  created: number;
  jobRunning?: number;
  jobDone?: number;
  healthy?: number;
}

export class RecoveryFailed extends Error {
  constructor(
    message: string,
    readonly logTail?: string,
  ) {
    super(message);
    this.name = 'RecoveryFailed';
  }
}

/** Lines of the failed recovery Job's pod log shown with the failure. */
const LOG_TAIL_LINES = 20;

export const recoveryJobName = (cluster: string) => `${cluster}-1-full-recovery`;

interface WaitOpts {
  deadline: number;
  signal?: AbortSignal;
  retry?: RetryOptions;
  log: (line: string) => void;
}

/** Resolves when healthy (filling `timings`); throws RecoveryFailed / WaitTimeout otherwise. */
export async function waitForRecovery(clients: KubeClients, namespace: string, name: string, timings: RecoveryTimings, opts: WaitOpts): Promise<Cluster> {
  const inner = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, inner.signal]) : inner.signal;
  let lastPhase = '';
  // Ending the race aborts the losing watch: that is not a drop worth reporting.
  const drop = (what: string) => (err: unknown) => {
    if (!inner.signal.aborted) opts.log(`watch of ${what} dropped (${(err as Error)?.message ?? err}); resuming`);
  };

  // observe must not throw (watchUntil would treat it as a dropped watch): outcomes are values.
  const clusterWatch = watchUntil<{ ok?: Cluster; fail?: string }>(
    clients.kc,
    { path: clustersPath(namespace), fieldSelector: `metadata.name=${name}` },
    `recovery cluster ${namespace}/${name} to become healthy`,
    (type, obj) => {
      const c = obj as Cluster;
      if (type === 'DELETED') return { fail: `recovery cluster ${name} was deleted while waiting for it` };
      const phase = c.status?.phase ?? '';
      if (phase !== lastPhase) {
        lastPhase = phase;
        opts.log(`recovery cluster phase: ${phase || '(none yet)'}${c.status?.phaseReason ? ` (${c.status.phaseReason})` : ''}`);
      }
      const h = clusterHealth(c);
      if (h.healthy) return { ok: c };
      if (h.terminal) return { fail: `recovery cluster ${name} reached phase '${phase}'${c.status?.phaseReason ? `: ${c.status.phaseReason}` : ''}` };
      return undefined;
    },
    {
      deadline: opts.deadline,
      signal,
      onDrop: drop('the recovery cluster'),
      list: async () => {
        const l = (await clients.custom.listNamespacedCustomObject({ group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, fieldSelector: `metadata.name=${name}` })) as {
          items: unknown[];
          metadata?: { resourceVersion?: string };
        };
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
      },
    },
  );

  const job = recoveryJobName(name);
  const jobWatch = watchUntil<'failed'>(
    clients.kc,
    { path: `/apis/batch/v1/namespaces/${namespace}/jobs`, fieldSelector: `metadata.name=${job}` },
    `recovery job ${job}`,
    (type, obj) => {
      const j = obj as V1Job;
      if (type === 'DELETED') return undefined;
      if (!timings.jobRunning && (j.status?.active || j.status?.startTime)) {
        timings.jobRunning = Date.now();
        opts.log(`recovery job ${job} is running`);
      }
      const cond = (t: string) => j.status?.conditions?.find((c) => c.type === t && c.status === 'True');
      if (!timings.jobDone && (cond('Complete') || cond('SuccessCriteriaMet'))) {
        timings.jobDone = Date.now();
        opts.log(`recovery job ${job} completed`);
      }
      const failed = cond('Failed') ?? cond('FailureTarget');
      if (failed) return 'failed';
      return undefined;
    },
    {
      deadline: opts.deadline,
      signal,
      onDrop: drop('the recovery job'),
      list: async () => {
        const l = await clients.batch.listNamespacedJob({ namespace, fieldSelector: `metadata.name=${job}` });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
      },
    },
  );

  try {
    const winner = await Promise.race([clusterWatch, jobWatch.then(() => ({ ok: undefined, fail: undefined }))]);
    if (winner.ok) {
      timings.healthy = Date.now();
      timings.jobRunning ??= timings.jobDone;
      return winner.ok;
    }
    if (winner.fail) {
      // Newer operators move a failed recovery to a terminal phase: the Job's log still says why.
      const tail = await jobLogTail(clients, namespace, job, LOG_TAIL_LINES, opts.retry).catch(() => undefined);
      const why = tail && !tail.startsWith('(') ? `; recovery job log: ${lastLine(tail)}` : '';
      throw new RecoveryFailed(winner.fail + why, tail);
    }
    const tail = await jobLogTail(clients, namespace, job, LOG_TAIL_LINES, opts.retry).catch((err) => `(could not read the job's pod log: ${(err as Error).message})`);
    throw new RecoveryFailed(`recovery job ${job} failed${lastPhase ? ` (cluster phase '${lastPhase}')` : ''}: ${lastLine(tail)}`, tail);
  } catch (err) {
    if (err instanceof WaitTimeout) throw new RecoveryFailed(`recovery cluster ${name} was not healthy within the timeout (last phase '${lastPhase || 'none'}')`);
    throw err;
  } finally {
    inner.abort(new Error('recovery wait finished'));
    // The loser of the race rejects on abort; nothing more to report from it.
    clusterWatch.catch(() => {});
    jobWatch.catch(() => {});
  }
}

/** The last two error-like lines of a log (the cause is often one line above the final complaint). */
function lastLine(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error|fatal|failed|denied|not found|invalid|could not/i.test(l));
  const picked = [...new Set(errors)].slice(-2);
  return (picked.length ? picked.join(' | ') : lines.at(-1) ?? '(empty log)').slice(0, 600);
}

/** The last lines of the recovery Job's newest pod (container `full-recovery`). */
export async function jobLogTail(clients: KubeClients, namespace: string, job: string, lines: number, retry?: RetryOptions): Promise<string> {
  const pods = await withRetry(`list pods of job ${job}`, () => clients.core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` }), retry);
  let items = pods.items as V1Pod[];
  if (!items.length) {
    const alt = await withRetry(`list pods of job ${job}`, () => clients.core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${job}` }), retry);
    items = alt.items;
  }
  const pod = items.sort((a, b) => (Date.parse(String(b.metadata?.creationTimestamp ?? '')) || 0) - (Date.parse(String(a.metadata?.creationTimestamp ?? '')) || 0))[0];
  if (!pod) return '(the job has no pod left to read a log from)';
  const container = pod.spec?.containers?.find((c) => c.name === 'full-recovery')?.name ?? pod.spec?.containers?.[0]?.name;
  const text = await withRetry(`read log of pod ${pod.metadata?.name}`, () => clients.core.readNamespacedPodLog({ namespace, name: pod.metadata!.name!, container, tailLines: lines }), retry);
  return String(text ?? '').trimEnd();
}
