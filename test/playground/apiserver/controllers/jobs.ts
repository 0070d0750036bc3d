// Job controller for batch/v1 Jobs, as kube-controller-manager's (pkg/controller/job): one pod
// at a time from the template (`<job>-<5 chars>`, controller ref, `batch.kubernetes.io/job-tracking`
// finalizer), every finished pod counted once in status.succeeded / status.failed (a pod
// deleted before it finished counts as failed), the next pod after a failure only after the
// pod-failure back-off (10s doubling per failure since the last success, capped at 10m; scaled
// by `timeScale`), then Complete, or FailureTarget + Failed with BackoffLimitExceeded once more
// than backoffLimit pods failed, or with DeadlineExceeded past activeDeadlineSeconds; active pods are
// then deleted.
import type { KubeObject } from '../../types.js';
import type { MemStore } from '../store.js';
import { controllerOf, controllerRef } from './owners.js';
import type { Timing } from '../../timing.js';
import { nowIso, nsName, ReconcileQueue, splitKey } from './queue.js';

const JOB = 'batch/v1/jobs';
const POD = 'v1/pods';
const TRACKING = 'batch.kubernetes.io/job-tracking';
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 600_000;

type Status = Record<string, any>;
const finished = (p: KubeObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const isDone = (job: KubeObject) =>
  (job.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );

function cond(type: string, reason: string, message: string) {
  const at = nowIso();
  return { type, status: 'True', reason, message, lastProbeTime: at, lastTransitionTime: at };
}

/** Delay before the next pod: base * 2^(failures since last success - 1), capped. */
export function podFailureBackoffMs(failuresSinceSuccess: number, timeScale = 1): number {
  if (failuresSinceSuccess <= 0) return 0;
  return Math.min(POD_FAILURE_BACKOFF_MS * 2 ** (failuresSinceSuccess - 1), MAX_POD_FAILURE_BACKOFF_MS) * timeScale;
}

/** Milliseconds before the Job's activeDeadlineSeconds passes (0: passed), undefined without one. */
function deadlineLeftMs(job: KubeObject, s: Status): number | undefined {
  const limit = job.spec.activeDeadlineSeconds;
  if (typeof limit !== 'number') return undefined;
  return Math.max(0, Date.parse(s.startTime) + limit * 1000 - Date.now());
}

class JobController {
  // Per job uid: failures since the last success and when the last one was counted (in memory,
  // as kube-controller-manager's backoff store).
  private readonly backoff = new Map<string, { failures: number; lastAt: number }>();
  readonly queue = new ReconcileQueue('job', (key) => this.sync(key));

  constructor(
    private readonly store: MemStore,
    private readonly timeScale: number,
    readonly timing: Timing,
  ) {}

  private ownPods(job: KubeObject): KubeObject[] {
    return this.store.list(POD, job.metadata.namespace).items.filter((p) => controllerOf(p)?.uid === job.metadata.uid);
  }

  private removeTracking(p: KubeObject): void {
    this.store.mutate(
      POD,
      p.metadata.namespace,
      p.metadata.name,
      (o) => void (o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== TRACKING)),
    );
  }

  /** Counts finished (or deleted unfinished) pods still holding the tracking finalizer, once. */
  private account(job: KubeObject, pods: KubeObject[], s: Status): void {
    const b = this.backoff.get(job.metadata.uid!) ?? { failures: 0, lastAt: 0 };
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
      this.removeTracking(p);
    }
    this.backoff.set(job.metadata.uid!, b);
  }

  /** A refused pod create is a Warning FailedCreate event on the Job (pkg/controller/job), retried later. */
  private createPod(job: KubeObject): void {
    try {
      this.createPodOnce(job);
    } catch (err) {
      this.store.recordEvent(job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
      throw err;
    }
  }

  private createPodOnce(job: KubeObject): void {
    const t = job.spec.template;
    this.store.create(POD, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${job.metadata.name}-`,
        name: '',
        namespace: job.metadata.namespace,
        labels: { ...t.metadata?.labels },
        annotations: t.metadata?.annotations,
        finalizers: [TRACKING],
        ownerReferences: [controllerRef(job)],
      },
      spec: structuredClone(t.spec),
    } as KubeObject);
  }

  /** Complete, or Failed once more than backoffLimit pods failed (active pods then go). */
  private finish(job: KubeObject, s: Status, active: KubeObject[]): boolean {
    if ((s.succeeded ?? 0) >= (job.spec.completions ?? 1)) {
      s.completionTime = nowIso();
      s.conditions = [
        cond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        cond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      ];
    } else if ((s.failed ?? 0) > (job.spec.backoffLimit ?? 6)) {
      this.fail(job, s, active, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else if (deadlineLeftMs(job, s) === 0) {
      this.fail(job, s, active, 'DeadlineExceeded', 'Job was active longer than specified deadline');
    } else return false;
    this.backoff.delete(job.metadata.uid!);
    return true;
  }

  /** FailureTarget + Failed for `reason`; the active pods are deleted (their runtime stops them). */
  private fail(job: KubeObject, s: Status, active: KubeObject[], reason: string, message: string): void {
    s.conditions = [cond('FailureTarget', reason, message), cond('Failed', reason, message)];
    for (const p of active) this.store.delete(POD, p.metadata.namespace, p.metadata.name);
    this.store.recordEvent(job, 'Warning', reason, message);
  }

  /** Pods of a done or deleting Job (all of them when the Job is gone) are no longer tracked. */
  private release(pods: KubeObject[], all = false): void {
    for (const p of pods)
      if (p.metadata.finalizers?.includes(TRACKING) && (all || finished(p) || p.metadata.deletionTimestamp))
        this.removeTracking(p);
  }

  private sync(key: string): void {
    const [ns, name] = splitKey(key);
    const job = this.store.get(JOB, ns, name);
    if (!job) {
      const orphans = this.store
        .list(POD, ns)
        .items.filter((p) => controllerOf(p)?.kind === 'Job' && controllerOf(p)?.name === name);
      return this.release(orphans, true);
    }
    const pods = this.ownPods(job);
    if (job.metadata.deletionTimestamp || isDone(job)) return this.release(pods);
    const s: Status = { ...job.status, startTime: job.status?.startTime ?? nowIso() };
    this.account(job, pods, s);
    const active = pods.filter((p) => !finished(p) && !p.metadata.deletionTimestamp);
    const done = this.finish(job, s, active);
    if (!done && active.length === 0 && !job.spec.suspend) {
      const b = this.backoff.get(job.metadata.uid!)!;
      const wait = b.lastAt + podFailureBackoffMs(b.failures, this.timeScale) - Date.now();
      if (wait > 0) this.queue.add(key, wait + this.timing.delay('jobSync'));
      else this.createPod(job);
    }
    // activeDeadlineSeconds counts from status.startTime, in real seconds (a user's limit, not a back-off).
    const left = deadlineLeftMs(job, s);
    if (!done && left !== undefined) this.queue.add(key, left);
    s.active = done ? 0 : this.ownPods(job).filter((p) => !finished(p) && !p.metadata.deletionTimestamp).length;
    s.ready = 0;
    for (const k of ['active', 'succeeded', 'failed', 'ready'] as const) if (s[k] === 0) delete s[k];
    if (JSON.stringify(s) !== JSON.stringify(job.status ?? {}))
      this.store.mutate(JOB, ns, name, (o) => void (o.status = s), { status: true });
  }

  onJobDeleted(uid: string): void {
    this.backoff.delete(uid);
  }
}

export function startJobController(store: MemStore, opts: { timeScale?: number; timing: Timing }): { stop(): void } {
  const ctl = new JobController(store, opts.timeScale ?? 1 / 20, opts.timing);
  // Job and pod events reach a sync after the controller's batch period.
  const batch = () => opts.timing.delay('jobSync');
  const off = store.onChange((c) => {
    if (c.resource === 'batch/jobs') {
      if (c.type === 'DELETED') ctl.onJobDeleted(c.obj.metadata.uid!);
      ctl.queue.add(nsName(c.obj.metadata.namespace, c.obj.metadata.name), batch());
    }
    if (c.resource === '/pods') {
      const ref = controllerOf(c.obj);
      if (ref?.kind === 'Job') ctl.queue.add(nsName(c.obj.metadata.namespace, ref.name), batch());
    }
  });
  for (const j of store.list(JOB).items) ctl.queue.add(nsName(j.metadata.namespace, j.metadata.name));
  return {
    stop() {
      off();
      ctl.queue.stop();
    },
  };
}
