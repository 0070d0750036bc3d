// In-pod bootstrap (cloudnative-pg PR #11319; CONFORMANCE.md 6.v): the instance pod's
// `bootstrap-instance` init container runs `/controller/manager instance init|restore|join` for
// real on the pod's volume before postgres may start. Instance pods keep restartPolicy Always, so
// a failed attempt is restarted by the kubelet after its CrashLoopBackOff (10 s doubling, cap
// 5 min, scaled like the Job controller's back-off) while the pod stays Pending; the log of every
// attempt goes to the init container. Success hands the pod to the instance manager.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER, L, key, mutateQuiet, now, patchStatus } from './context.js';
import { roleOfCommand, type JobRole } from './bootstrap-jobs.js';
import { BOOTSTRAP_INIT_CONTAINER } from './cluster-pods.js';
import { claimPath, podClaim } from './cluster-pvc.js';
import type { CommandWork, JobIO } from './instance-commands.js';
import type { ProcessGroup } from './proc.js';
import { sleep } from './proc.js';
import { crashLoopBackOffMs } from './versions.js';

const initSpec = (pod: KubeObject) =>
  (pod.spec?.initContainers ?? []).find((c: { name: string }) => c.name === BOOTSTRAP_INIT_CONTAINER);
const initStatus = (pod: KubeObject) =>
  (pod.status?.initContainerStatuses ?? []).find((c: { name: string }) => c.name === BOOTSTRAP_INIT_CONTAINER);

/** The pod carries a bootstrap init container that has not exited 0 yet. */
export function bootstrapPending(pod: KubeObject): boolean {
  return !!initSpec(pod) && initStatus(pod)?.state?.terminated?.exitCode !== 0;
}

type InitState = { running: true } | { exitCode: number } | { crashLoop: number };

/** The kubelet's view of a pod whose init containers have not all completed. */
function initPodStatus(image: string, state: InitState, restarts: number, startTime: string) {
  const t = now();
  const cond = (type: string, status: boolean) => ({
    type,
    status: status ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: t,
    ...(status ? {} : { reason: type === 'Initialized' ? 'ContainersNotInitialized' : 'ContainersNotReady' }),
  });
  const s =
    'running' in state
      ? { state: { running: { startedAt: t } } }
      : 'exitCode' in state
        ? {
            state: {
              terminated: { exitCode: state.exitCode, reason: state.exitCode ? 'Error' : 'Completed', finishedAt: t },
            },
          }
        : {
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off restarting failed container ${BOOTSTRAP_INIT_CONTAINER}`,
              },
            },
            lastState: { terminated: { exitCode: state.crashLoop, reason: 'Error', finishedAt: t } },
          };
  const done = 'exitCode' in state && state.exitCode === 0;
  const staging = {
    name: 'bootstrap-controller',
    ready: true,
    restartCount: 0,
    image: 'ghcr.io/cloudnative-pg/cloudnative-pg:trunk',
    imageID: '',
    state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: startTime } },
  };
  return {
    phase: 'Pending',
    hostIP: '127.0.0.1',
    startTime,
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', done),
      cond('ContainersReady', false),
      cond('Ready', false),
    ],
    initContainerStatuses: [
      staging,
      {
        name: BOOTSTRAP_INIT_CONTAINER,
        ready: done,
        started: 'running' in state,
        restartCount: restarts,
        image,
        imageID: '',
        containerID: `playground://${BOOTSTRAP_INIT_CONTAINER}`,
        ...s,
      },
    ],
    containerStatuses: [
      {
        name: 'postgres',
        ready: false,
        started: false,
        restartCount: 0,
        image,
        imageID: '',
        state: { waiting: { reason: 'PodInitializing' } },
      },
    ],
  };
}

interface Running {
  abort: AbortController;
  procs?: ProcessGroup;
  done: Promise<void>;
}

export class BootstrapInitContainers {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly ctx: Ctx,
    private readonly work: CommandWork,
  ) {}

  /** Whether this runner holds the pod (its init container runs or waits to restart). */
  holds(pod: KubeObject): boolean {
    return this.running.has(key(pod.metadata.namespace, pod.metadata.name));
  }

  onPod(pod: KubeObject, deleted: boolean): void {
    const k = key(pod.metadata.namespace, pod.metadata.name);
    if (deleted || pod.metadata.deletionTimestamp) {
      void this.release(pod, this.running.get(k));
      return;
    }
    if (this.running.has(k)) return;
    const role = roleOfCommand(initSpec(pod)?.command);
    if (!role) return;
    const entry: Running = { abort: new AbortController(), done: Promise.resolve() };
    this.running.set(k, entry);
    entry.done = this.loop(pod, role, entry)
      .catch((err) =>
        this.ctx.logs.append(
          pod.metadata.namespace!,
          pod.metadata.name,
          BOOTSTRAP_INIT_CONTAINER,
          `emulator error: ${String(err)}\n`,
        ),
      )
      .finally(() => this.running.delete(k));
  }

  private async volume(pod: KubeObject, signal: AbortSignal): Promise<string | undefined> {
    const claim = podClaim(pod);
    for (;;) {
      if (
        signal.aborted ||
        this.ctx.stopping ||
        !this.ctx.store.get(GVR.pod, pod.metadata.namespace, pod.metadata.name)
      )
        return undefined;
      const dir = claim ? claimPath(this.ctx, pod.metadata.namespace!, claim) : undefined;
      if (dir) return dir;
      await sleep(100);
    }
  }

  private async loop(pod: KubeObject, role: JobRole, entry: Running): Promise<void> {
    const ns = pod.metadata.namespace!;
    const cluster = pod.metadata.labels?.[L.cluster] ?? '';
    const dir = await this.volume(pod, entry.abort.signal);
    if (!dir) return;
    const image = initSpec(pod).image;
    const startTime = now();
    const set = (state: InitState, restarts: number) => {
      const current = this.ctx.store.get(GVR.pod, ns, pod.metadata.name);
      if (current && !current.metadata.deletionTimestamp)
        patchStatus(this.ctx.store, GVR.pod, current, (s) =>
          Object.assign(s, initPodStatus(image, state, restarts, startTime)),
        );
    };
    for (let restarts = 0; ; restarts++) {
      set({ running: true }, restarts);
      const ok = await this.attempt(ns, pod, role, cluster, dir, entry);
      if (entry.abort.signal.aborted || this.ctx.stopping) return;
      set({ exitCode: ok ? 0 : 1 }, restarts);
      this.ctx.kickCluster(ns, cluster);
      if (ok) return;
      await sleep(50);
      set({ crashLoop: 1 }, restarts);
      const until = Date.now() + crashLoopBackOffMs(restarts + 1) + this.ctx.timing.delay('crashLoopSync');
      while (Date.now() < until) {
        if (entry.abort.signal.aborted || this.ctx.stopping) return;
        await sleep(Math.min(100, until - Date.now()));
      }
    }
  }

  private async attempt(
    ns: string,
    pod: KubeObject,
    role: JobRole,
    clusterName: string,
    dir: string,
    entry: Running,
  ): Promise<boolean> {
    entry.procs = this.ctx.procs.sub();
    const io: JobIO = {
      log: (t) => this.ctx.logs.append(ns, pod.metadata.name, BOOTSTRAP_INIT_CONTAINER, t),
      signal: entry.abort.signal,
      procs: entry.procs,
      dir,
      pod,
    };
    try {
      const cluster = this.ctx.store.get(GVR.cluster, ns, clusterName);
      if (!cluster) throw new Error('cluster not found');
      await this.work(role, cluster, io);
      return true;
    } catch (err) {
      if (!entry.abort.signal.aborted) io.log(`${err instanceof Error ? err.message : String(err)}\n`);
      return false;
    } finally {
      await entry.procs.stopAll(2000);
      entry.procs = undefined;
    }
  }

  /** A pod being deleted while bootstrapping: stop the attempt, then let the pod go. */
  private async release(pod: KubeObject, entry: Running | undefined): Promise<void> {
    if (entry) {
      entry.abort.abort();
      await entry.procs?.stopAll(2000);
      await entry.done;
    }
    if (!pod.metadata.finalizers?.includes(KUBELET_FINALIZER)) return;
    mutateQuiet(this.ctx.store, GVR.pod, pod.metadata.namespace, pod.metadata.name, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== KUBELET_FINALIZER);
    });
  }

  async stop(): Promise<void> {
    for (const e of this.running.values()) e.abort.abort();
    await Promise.all(
      [...this.running.values()].map(async (e) => {
        await e.procs?.stopAll(2000);
        await e.done;
      }),
    );
  }
}
