// Waits for the recovery cluster by watching what the operator actually creates, whatever its
// version (test/playground/CONFORMANCE.md section 6): the Cluster (healthy per cnpg/health.ts, or
// a terminal phase such as the unrecoverable one), the cluster's pods (a Job pod whose restore
// container failed, or an instance pod whose `bootstrap-instance` init container exited non-zero
// or crash-loops) and its Jobs (`Failed`). The first failed attempt ends the wait: Jobs retry
// with Kubernetes' back-off for minutes and operators before 1.28.4 / 1.29.2 / 1.30.0 never
// leave 'Setting up primary', in-pod bootstrap restarts forever. Meanwhile the restore
// container's log is captured (RestoreLog) and a recovery whose WAL replay restores no new WAL
// for the stall timeout is reported as stalled with what it last saw.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { sleep, type RetryOptions } from '../kube/retry.js';
import { watchUntil, WaitTimeout } from '../kube/watch.js';
import { clustersPath } from '../cnpg/api.js';
import { clusterHealth, PhaseFailureClock } from '../cnpg/health.js';
import { CNPG_GROUP, CNPG_VERSION, Plural, type Cluster } from '../cnpg/types.js';
import { bootstrapSource, errorSummary } from '../cnpg/bootstrap.js';
import { RestoreLog } from './restore-log.js';
import { cannotStart } from './start-check.js';

export interface RecoveryTimings {
  /** Epoch ms when each was first observed. */
  created: number;
  /** The restore container started (Job pod or init container). */
  jobRunning?: number;
  /** The restore container exited 0. */
  jobDone?: number;
  healthy?: number;
}

/**
 * The recovery never started its restore (a missing ServiceAccount, Secret or pull secret, a name
 * the operator cannot create): the drill's environment, not the backup, is at fault, so this is a
 * drill error (errors.ts classifies it 'environment'), never a failed backup.
 */
export class RecoveryCannotStart extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryCannotStart';
  }
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

export interface WaitOpts {
  deadline: number;
  signal?: AbortSignal;
  retry?: RetryOptions;
  log: (line: string) => void;
  logTailLines?: number;
  /** No new WAL restored for this long (ms) while the restore runs: stalled. */
  stallTimeoutMs?: number;
  /** How often the restore log is read again (ms). */
  pollMs?: number;
  /** Receives the restore container's log (created here when not given). */
  capture?: RestoreLog;
  /** How long the restore may take to start before what blocks it is read (start-check.ts). */
  startGraceMs?: number;
}

type Outcome = { ok?: Cluster; fail?: string; cannotStart?: boolean };

/**
 * Resolves when healthy (filling `timings`); throws RecoveryFailed otherwise. A dropped watch is
 * logged as resuming only while the wait goes on: not once it is over or cancelled.
 */
export async function waitForRecovery(
  clients: KubeClients,
  namespace: string,
  name: string,
  timings: RecoveryTimings,
  opts: WaitOpts,
): Promise<Cluster> {
  const inner = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, inner.signal]) : inner.signal;
  const capture = opts.capture ?? new RestoreLog(clients, namespace);
  const state = { lastPhase: '' };
  const drop = (what: string) => (err: unknown) => {
    if (!signal.aborted) opts.log(`watch of ${what} dropped (${(err as Error)?.message ?? err}); resuming`);
  };
  const common = { deadline: opts.deadline, signal };
  const racers = [
    watchCluster(clients, namespace, name, state, opts, { ...common, onDrop: drop('the recovery cluster') }),
    watchRestorePods(clients, namespace, name, timings, capture, opts, {
      ...common,
      onDrop: drop('the recovery pods'),
    }),
    watchJobs(clients, namespace, name, { ...common, onDrop: drop('the recovery jobs') }),
    pollLog(capture, opts, signal),
    cannotStart(clients, namespace, name, {
      created: timings.created,
      started: () => !!(timings.jobRunning || timings.jobDone || timings.healthy),
      signal,
      retry: opts.retry,
      graceMs: opts.startGraceMs,
    }),
  ];
  try {
    const winner = await Promise.race(racers);
    if (winner.ok) {
      timings.healthy = Date.now();
      timings.jobRunning ??= timings.jobDone;
      await capture.refresh(opts.retry).catch(() => {});
      return winner.ok;
    }
    if (!capture.source?.failure) await capture.discover(name, opts.retry).catch(() => {});
    await capture.refresh(opts.retry).catch(() => {});
    const tail = capture.text ? capture.tail(opts.logTailLines ?? 20) : undefined;
    const where = state.lastPhase ? ` (cluster phase '${state.lastPhase}')` : '';
    if (winner.cannotStart) throw new RecoveryCannotStart(`${winner.fail}${where}`);
    throw new RecoveryFailed(
      `${winner.fail}${where}: ${tail ? errorSummary(tail) : `no restore log could be read (${capture.lastSeen()})`}`,
      tail,
    );
  } catch (err) {
    if (err instanceof WaitTimeout)
      throw new RecoveryFailed(
        `recovery cluster ${name} was not healthy within the timeout (last phase '${state.lastPhase || 'none'}'; ${capture.lastSeen()})`,
        capture.text ? capture.tail(opts.logTailLines ?? 20) : undefined,
      );
    throw err;
  } finally {
    inner.abort(new Error('recovery wait finished'));
    for (const r of racers) r.catch(() => {});
  }
}

type WatchCommon = { deadline: number; signal: AbortSignal; onDrop: (err: unknown) => void };

function watchCluster(
  clients: KubeClients,
  namespace: string,
  name: string,
  state: { lastPhase: string },
  opts: WaitOpts,
  common: WatchCommon,
): Promise<Outcome> {
  // observe must not throw (watchUntil would treat it as a dropped watch): outcomes are values.
  const clock = new PhaseFailureClock(); // retried error phases fail only when they persist
  return watchUntil<Outcome>(
    clients.kc,
    { path: clustersPath(namespace), fieldSelector: `metadata.name=${name}` },
    `recovery cluster ${namespace}/${name} to become healthy`,
    (type, obj) => {
      const c = obj as Cluster;
      if (type === 'DELETED') return { fail: `recovery cluster ${name} was deleted while waiting for it` };
      const phase = c.status?.phase ?? '';
      if (phase !== state.lastPhase) {
        state.lastPhase = phase;
        opts.log(
          `recovery cluster phase: ${phase || '(none yet)'}${c.status?.phaseReason ? ` (${c.status.phaseReason})` : ''}`,
        );
      }
      const h = clusterHealth(c);
      if (h.healthy) return { ok: c };
      const failed = clock.failure(c);
      return failed ? { fail: `recovery cluster ${name} reached ${failed}` } : undefined;
    },
    {
      ...common,
      recheckMs: 5_000,
      list: async () => {
        const l = (await clients.custom.listNamespacedCustomObject({
          group: CNPG_GROUP,
          version: CNPG_VERSION,
          namespace,
          plural: Plural.clusters,
          fieldSelector: `metadata.name=${name}`,
        })) as {
          items: unknown[];
          metadata?: { resourceVersion?: string };
        };
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
      },
    },
  );
}

/** Job pods and instance pods of the recovery cluster: the first failed restore attempt. */
function watchRestorePods(
  clients: KubeClients,
  namespace: string,
  name: string,
  timings: RecoveryTimings,
  capture: RestoreLog,
  opts: WaitOpts,
  common: WatchCommon,
): Promise<Outcome> {
  const labelSelector = `cnpg.io/cluster=${name}`;
  return watchUntil<Outcome>(
    clients.kc,
    { path: `/api/v1/namespaces/${namespace}/pods`, labelSelector },
    `the restore of ${name}`,
    (type, obj) => {
      const src = type === 'DELETED' ? undefined : bootstrapSource(obj as V1Pod, name, ['full-recovery']);
      if (!src) return undefined;
      capture.observe(src);
      if (src.started && !timings.jobRunning) {
        timings.jobRunning = Date.now();
        opts.log(
          src.kind === 'job'
            ? `recovery job ${src.job ?? '?'} is running (pod ${src.pod}, container ${src.container})`
            : `recovery is running in init container ${src.container} of pod ${src.pod}`,
        );
      }
      if (src.succeeded && !timings.jobDone) {
        timings.jobDone = Date.now();
        opts.log(`restore in ${src.pod}/${src.container} completed`);
        // Read now: a completed Job is deleted with its pod once the instance reports.
        capture.refresh(opts.retry).catch(() => {});
      }
      return src.failure ? { fail: `first failed restore attempt: ${src.failure}` } : undefined;
    },
    {
      ...common,
      list: async () => {
        const l = await clients.core.listNamespacedPod({ namespace, labelSelector });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
      },
    },
  );
}

function watchJobs(clients: KubeClients, namespace: string, name: string, common: WatchCommon): Promise<Outcome> {
  const labelSelector = `cnpg.io/cluster=${name}`;
  return watchUntil<Outcome>(
    clients.kc,
    { path: `/apis/batch/v1/namespaces/${namespace}/jobs`, labelSelector },
    `the recovery jobs of ${name}`,
    (type, obj) => {
      const j = obj as V1Job;
      if (type === 'DELETED') return undefined;
      const failed = j.status?.conditions?.find(
        (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
      );
      return failed ? { fail: `recovery job ${j.metadata?.name} failed (${failed.reason ?? failed.type})` } : undefined;
    },
    {
      ...common,
      list: async () => {
        const l = await clients.batch.listNamespacedJob({ namespace, labelSelector });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
      },
    },
  );
}

/** Reads the restore log every pollMs; a restore with no new WAL for the stall timeout is stalled. */
async function pollLog(capture: RestoreLog, opts: WaitOpts, signal: AbortSignal): Promise<Outcome> {
  const every = opts.pollMs ?? 2_000;
  for (;;) {
    await sleep(every, signal);
    await capture.refresh(opts.retry).catch(() => {});
    const src = capture.source;
    // Only WAL replay is judged: downloading a large base backup restores no WAL for a long time.
    if (!opts.stallTimeoutMs || !src?.started || src.succeeded || src.failure || !capture.replaying) continue;
    const idle = Date.now() - capture.lastProgressAt;
    if (idle >= opts.stallTimeoutMs) {
      return {
        fail:
          `recovery stalled: no new WAL restored for ${Math.round(idle / 1000)} s ` +
          `(stall-timeout ${Math.round(opts.stallTimeoutMs / 1000)} s); last seen: ${capture.lastSeen()}`,
      };
    }
  }
}
