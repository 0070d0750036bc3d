// Instance-creation Jobs (initdb, full-recovery, join) the way CNPG runs them: a batch/v1 Job
// owned by the Cluster, pods `<job>-<5 chars>` whose container really does the work, retries up
// to backoffLimit, then condition Complete or Failed (BackoffLimitExceeded).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER, L, key, mutateQuiet, now, ownerRef, patchStatus, randomSuffix } from './context.js';
import type { ProcessGroup } from './proc.js';
import { sleep } from './proc.js';
import { claimPath } from './volumes.js';

export type JobRole = 'initdb' | 'full-recovery' | 'join';

export interface JobIO {
  /** Appends to the pod's log (container = the job role). */
  log(text: string): void;
  signal: AbortSignal;
  procs: ProcessGroup;
  /** The instance volume's directory (PGDATA is `<dir>/pgdata`). */
  dir: string;
  pod: KubeObject;
}

interface Running {
  abort: AbortController;
  procs?: ProcessGroup;
  podName?: string;
  done: Promise<void>;
}

export class JobRunner {
  private readonly running = new Map<string, Running>();

  constructor(private readonly ctx: Ctx) {}

  jobName(instanceName: string, role: JobRole): string {
    return `${instanceName}-${role}`;
  }

  /** Creates the Job (once) and runs its pods in the background. */
  ensure(cluster: KubeObject, instanceName: string, role: JobRole, work: (io: JobIO) => Promise<void>): void {
    const ns = cluster.metadata.namespace!;
    const name = this.jobName(instanceName, role);
    if (this.running.has(key(ns, name)) || this.ctx.store.get(GVR.job, ns, name)) return;
    const labels = { [L.cluster]: cluster.metadata.name, [L.jobRole]: role, [L.instanceName]: instanceName };
    const backoffLimit = this.ctx.settings.jobBackoffLimit ?? 6;
    const job = this.ctx.store.create(GVR.job, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: ns, labels, ownerReferences: [ownerRef(cluster)] },
      spec: {
        backoffLimit,
        completions: 1,
        parallelism: 1,
        template: {
          metadata: { labels },
          spec: { restartPolicy: 'Never', containers: [{ name: role, image: cluster.spec?.imageName, command: ['/controller/manager', 'instance', role === 'full-recovery' ? 'restore' : role] }], volumes: [{ name: 'pgdata', persistentVolumeClaim: { claimName: instanceName } }] },
        },
      },
    });
    const abort = new AbortController();
    const entry: Running = { abort, done: Promise.resolve() };
    this.running.set(key(ns, name), entry);
    entry.done = this.loop(job, instanceName, role, labels, backoffLimit, work, entry)
      .catch((err) => this.ctx.logs.append(ns, name, role, `emulator error: ${String(err)}\n`))
      .finally(() => {
        this.running.delete(key(ns, name));
        this.ctx.kickCluster(ns, cluster.metadata.name);
      });
  }

  isRunning(ns: string, jobName: string): boolean {
    return this.running.has(key(ns, jobName));
  }

  private async loop(job: KubeObject, instanceName: string, role: JobRole, labels: Record<string, string>, backoffLimit: number, work: (io: JobIO) => Promise<void>, entry: Running): Promise<void> {
    const ns = job.metadata.namespace!;
    const { store } = this.ctx;
    patchStatus(store, GVR.job, job, (s) => {
      s.startTime = now();
      s.active = 1;
    });
    for (let attempt = 0; ; attempt++) {
      if (entry.abort.signal.aborted || this.ctx.stopping) return;
      let dir: string | undefined;
      while (!(dir = claimPath(this.ctx, ns, instanceName))) {
        if (entry.abort.signal.aborted || this.ctx.stopping || !store.get(GVR.job, ns, job.metadata.name)) return;
        await sleep(100);
      }
      const podName = `${job.metadata.name}-${randomSuffix()}`;
      const pod = store.create(GVR.pod, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace: ns,
          labels: { ...labels, 'job-name': job.metadata.name, 'batch.kubernetes.io/job-name': job.metadata.name, 'controller-uid': job.metadata.uid!, 'batch.kubernetes.io/controller-uid': job.metadata.uid! },
          finalizers: [KUBELET_FINALIZER],
          ownerReferences: [ownerRef(job)],
        },
        spec: { ...job.spec.template.spec, nodeName: 'playground' },
      });
      patchStatus(store, GVR.pod, pod, (s) => Object.assign(s, podStatus('Running', role, false)));
      entry.podName = podName;
      entry.procs = this.ctx.procs.sub();
      const io: JobIO = { log: (t) => this.ctx.logs.append(ns, podName, role, t), signal: entry.abort.signal, procs: entry.procs, dir, pod };
      let ok = false;
      try {
        await work(io);
        ok = true;
      } catch (err) {
        if (!entry.abort.signal.aborted) io.log(`${err instanceof Error ? err.message : String(err)}\n`);
      } finally {
        await entry.procs.stopAll(2000);
        entry.procs = undefined;
      }
      if (entry.abort.signal.aborted || this.ctx.stopping) {
        this.releasePod(ns, podName);
        return;
      }
      patchStatus(store, GVR.pod, pod, (s) => Object.assign(s, podStatus(ok ? 'Succeeded' : 'Failed', role, false, { exitCode: ok ? 0 : 1 })));
      this.releasePod(ns, podName);
      const current = store.get(GVR.job, ns, job.metadata.name);
      if (!current) return;
      if (ok) {
        patchStatus(store, GVR.job, current, (s) => {
          s.active = 0;
          s.succeeded = 1;
          s.completionTime = now();
          s.conditions = [
            { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now(), lastTransitionTime: now() },
            { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now(), lastTransitionTime: now() },
          ];
        });
        return;
      }
      const failed = attempt + 1;
      if (failed > backoffLimit) {
        patchStatus(store, GVR.job, current, (s) => {
          s.active = 0;
          s.failed = failed;
          s.conditions = [
            { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastProbeTime: now(), lastTransitionTime: now() },
            { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastProbeTime: now(), lastTransitionTime: now() },
          ];
        });
        this.ctx.store.recordEvent(current, 'Warning', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
        return;
      }
      patchStatus(store, GVR.job, current, (s) => {
        s.failed = failed;
      });
      // Kubernetes backs off 10s, 20s, 40s...; scaled down so a failing drill surfaces quickly.
      await sleep(Math.min(500 * 2 ** attempt, 8000));
    }
  }

  /** Job pods keep the kubelet finalizer while their processes run (the PVC stays protected). */
  private releasePod(ns: string, podName: string): void {
    mutateQuiet(this.ctx.store, GVR.pod, ns, podName, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== KUBELET_FINALIZER);
    });
  }

  /** A job pod being deleted (e.g. the Cluster is gone): stop its processes, then let it go. */
  async onPodDeleting(pod: KubeObject): Promise<void> {
    const jobName = pod.metadata.labels?.['job-name'];
    const entry = jobName ? this.running.get(key(pod.metadata.namespace, jobName)) : undefined;
    if (entry && entry.podName === pod.metadata.name) {
      entry.abort.abort();
      await entry.procs?.stopAll(2000);
      await entry.done;
    }
    this.releasePod(pod.metadata.namespace!, pod.metadata.name);
  }

  async stop(): Promise<void> {
    for (const e of this.running.values()) e.abort.abort();
    await Promise.all([...this.running.values()].map(async (e) => {
      await e.procs?.stopAll(2000);
      await e.done;
    }));
  }
}

export function podStatus(
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed',
  container: string,
  ready: boolean,
  opts: { exitCode?: number; restartCount?: number; waiting?: string; startTime?: string } = {},
) {
  const t = now();
  const state = opts.waiting
    ? { waiting: { reason: opts.waiting } }
    : phase === 'Running'
      ? { running: { startedAt: t } }
      : phase === 'Pending'
        ? { waiting: { reason: 'ContainerCreating' } }
        : { terminated: { exitCode: opts.exitCode ?? 0, reason: opts.exitCode ? 'Error' : 'Completed', finishedAt: t } };
  const cond = (type: string, status: boolean) => ({ type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t });
  return {
    phase,
    podIP: '127.0.0.1',
    podIPs: [{ ip: '127.0.0.1' }],
    hostIP: '127.0.0.1',
    startTime: opts.startTime ?? t,
    conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', ready), cond('Ready', ready)],
    containerStatuses: [
      { name: container, ready, started: phase === 'Running' && !opts.waiting, restartCount: opts.restartCount ?? 0, image: 'ghcr.io/cloudnative-pg/postgresql:15', imageID: '', containerID: `playground://${container}`, state },
    ],
  };
}
