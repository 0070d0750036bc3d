// Job controller for batch/v1 Jobs, as kube-controller-manager's (pkg/controller/job): one pod
// at a time from the template (`<job>-<5 chars>`, controller ref, `batch.kubernetes.io/job-tracking`
// finalizer), every finished pod counted once in status.succeeded / status.failed (a pod
// deleted before it finished counts as failed), the next pod after a failure only after the
// pod-failure back-off (10s doubling per failure since the last success, capped at 10m; scaled
// by `timeScale`), then Complete, or FailureTarget + Failed with BackoffLimitExceeded once more
// than backoffLimit pods failed; active pods are then deleted.
import type { KubeObject } from '../../types.js';
import type { MemStore } from '../store.js';
import { controllerOf, controllerRef } from './owners.js';
import { nowIso, nsName, ReconcileQueue, splitKey } from './queue.js';

const JOB = 'batch/v1/jobs';
const POD = 'v1/pods';
const TRACKING = 'batch.kubernetes.io/job-tracking';
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 600_000;

type Status = Record<string, any>;
const finished = (p: KubeObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const isDone = (job: KubeObject) => (job.status?.conditions ?? []).some((c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

function cond(type: string, reason: string, message: string) {
  const at = nowIso();
  return { type, status: 'True', reason, message, lastProbeTime: at, lastTransitionTime: at };
}

/** Delay before the next pod: base * 2^(failures since last success - 1), capped. */
export function podFailureBackoffMs(failuresSinceSuccess: number, timeScale = 1): number {
  if (failuresSinceSuccess <= 0) return 0;
  return Math.min(POD_FAILURE_BACKOFF_MS * 2 ** (failuresSinceSuccess - 1), MAX_POD_FAILURE_BACKOFF_MS) * timeScale;
}

export function startJobController(store: MemStore, opts: { timeScale?: number } = {}): { stop(): void } {
  const timeScale = opts.timeScale ?? 1 / 20;
  // Per job uid: failures since the last success and when the last one was counted (in memory,
  // as kube-controller-manager's backoff store).
  const backoff = new Map<string, { failures: number; lastAt: number }>();

  const ownPods = (job: KubeObject) => store.list(POD, job.metadata.namespace).items.filter((p) => controllerOf(p)?.uid === job.metadata.uid);
  const removeTracking = (p: KubeObject) =>
    store.mutate(POD, p.metadata.namespace, p.metadata.name, (o) => void (o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== TRACKING)));

  /** Counts finished (or deleted unfinished) pods still holding the tracking finalizer, once. */
  function account(job: KubeObject, pods: KubeObject[], s: Status): void {
    const b = backoff.get(job.metadata.uid!) ?? { failures: 0, lastAt: 0 };
    for (const p of pods) {
      if (!p.metadata.finalizers?.includes(TRACKING)) continue;
      if (!finished(p) && !p.metadata.deletionTimestamp) continue;
      if (p.status?.phase === 'Succeeded') {
        s.succeeded = (s.succeeded ?? 0) + 1;
        b.failures = 0;
      } else {
        s.failed = (s.failed ?? 0) + 1;
        b.failures++;
        b.lastAt = Date.now();
      }
      removeTracking(p);
    }
    backoff.set(job.metadata.uid!, b);
  }

  function createPod(job: KubeObject): void {
    const t = job.spec.template;
    const name = job.metadata.name;
    store.create(POD, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: `${name}-`, name: '', namespace: job.metadata.namespace, labels: { ...t.metadata?.labels }, annotations: t.metadata?.annotations, finalizers: [TRACKING], ownerReferences: [controllerRef(job)] },
      spec: structuredClone(t.spec),
    } as KubeObject);
  }

  function finish(job: KubeObject, s: Status, active: KubeObject[]): boolean {
    const at = nowIso();
    if ((s.succeeded ?? 0) >= (job.spec.completions ?? 1)) {
      s.completionTime = at;
      s.conditions = [cond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'), cond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')];
    } else if ((s.failed ?? 0) > (job.spec.backoffLimit ?? 6)) {
      s.conditions = [cond('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), cond('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')];
      for (const p of active) store.delete(POD, p.metadata.namespace, p.metadata.name);
      store.recordEvent(job, 'Warning', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else return false;
    backoff.delete(job.metadata.uid!);
    return true;
  }

  const queue = new ReconcileQueue('job', (key) => {
    const [ns, name] = splitKey(key);
    const job = store.get(JOB, ns, name);
    if (!job) {
      // Pods of a Job that is gone are no longer tracked: let them go.
      for (const p of store.list(POD, ns).items) if (controllerOf(p)?.kind === 'Job' && controllerOf(p)?.name === name && p.metadata.finalizers?.includes(TRACKING)) removeTracking(p);
      return;
    }
    const pods = ownPods(job);
    const s: Status = { ...job.status, startTime: job.status?.startTime ?? nowIso() };
    if (job.metadata.deletionTimestamp || isDone(job)) {
      for (const p of pods) if (p.metadata.finalizers?.includes(TRACKING) && (finished(p) || p.metadata.deletionTimestamp)) removeTracking(p);
      return;
    }
    account(job, pods, s);
    const active = pods.filter((p) => !finished(p) && !p.metadata.deletionTimestamp);
    const done = finish(job, s, active);
    if (!done && active.length === 0 && !job.spec.suspend) {
      const b = backoff.get(job.metadata.uid!)!;
      const wait = b.lastAt + podFailureBackoffMs(b.failures, timeScale) - Date.now();
      if (wait > 0) queue.add(key, wait);
      else createPod(job);
    }
    s.active = done ? 0 : ownPods(job).filter((p) => !finished(p) && !p.metadata.deletionTimestamp).length;
    s.ready = 0;
    for (const k of ['active', 'succeeded', 'failed', 'ready'] as const) if (s[k] === 0) delete s[k];
    if (JSON.stringify(s) !== JSON.stringify(job.status ?? {})) store.mutate(JOB, ns, name, (o) => void (o.status = s), { status: true });
  });
  const off = store.onChange((c) => {
    if (c.resource === 'batch/jobs') {
      if (c.type === 'DELETED') backoff.delete(c.obj.metadata.uid!);
      queue.add(nsName(c.obj.metadata.namespace, c.obj.metadata.name));
    }
    if (c.resource === '/pods') {
      const ref = controllerOf(c.obj);
      if (ref?.kind === 'Job') queue.add(nsName(c.obj.metadata.namespace, ref.name));
    }
  });
  for (const j of store.list(JOB).items) queue.add(nsName(j.metadata.namespace, j.metadata.name));
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}
