// The runtime for bootstrap Job pods: executes `/controller/manager instance init|restore|join`
// for real (initdb, barman-cloud restore, pg_basebackup) on the pod's volume once the claim is
// bound, then reports the pod Succeeded or Failed (exit code 1) for the Job controller to count.
// Deleting the pod stops its processes first (the runtime's finalizer models the grace period).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER, L, key, mutateQuiet, patchStatus } from './context.js';
import { commandRole, type JobRole } from './bootstrap-jobs.js';
import { podStatus } from './pod-status.js';
import type { ProcessGroup } from './proc.js';
import { sleep } from './proc.js';
import { claimPath, podClaim } from './cluster-pvc.js';

export interface JobIO {
  /** Appends to the pod's log (container = the job role). */
  log(text: string): void;
  signal: AbortSignal;
  procs: ProcessGroup;
  /** The instance volume's directory (PGDATA is `<dir>/pgdata`). */
  dir: string;
  pod: KubeObject;
}

/** The work behind each command; the cluster is read when the pod starts. */
export type CommandWork = (role: JobRole, cluster: KubeObject, io: JobIO) => Promise<void>;

interface Running {
  abort: AbortController;
  procs?: ProcessGroup;
  done: Promise<void>;
}

export class InstanceCommands {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly ctx: Ctx,
    private readonly work: CommandWork,
  ) {}

  /** Called for every event of a pod this runtime claims (commandRole(pod) is set). */
  onPod(pod: KubeObject, deleted: boolean): void {
    const k = key(pod.metadata.namespace, pod.metadata.name);
    if (deleted || pod.metadata.deletionTimestamp) {
      void this.release(pod, this.running.get(k));
      return;
    }
    const phase = pod.status?.phase;
    if (this.running.has(k) || phase === 'Succeeded' || phase === 'Failed' || phase === 'Running') return;
    const entry: Running = { abort: new AbortController(), done: Promise.resolve() };
    this.running.set(k, entry);
    entry.done = this.run(pod, commandRole(pod)!, entry)
      .catch((err) =>
        this.ctx.logs.append(
          pod.metadata.namespace!,
          pod.metadata.name,
          commandRole(pod)!,
          `emulator error: ${String(err)}\n`,
        ),
      )
      .finally(() => this.running.delete(k));
  }

  private async waitForVolume(pod: KubeObject, entry: Running): Promise<string | undefined> {
    const ns = pod.metadata.namespace!;
    const claim = podClaim(pod);
    for (;;) {
      if (entry.abort.signal.aborted || this.ctx.stopping || !this.ctx.store.get(GVR.pod, ns, pod.metadata.name))
        return undefined;
      const dir = claim ? claimPath(this.ctx, ns, claim) : undefined;
      if (dir) return dir;
      await sleep(100);
    }
  }

  private async run(pod: KubeObject, role: JobRole, entry: Running): Promise<void> {
    const ns = pod.metadata.namespace!;
    const dir = await this.waitForVolume(pod, entry);
    const cluster = this.ctx.store.get(GVR.cluster, ns, pod.metadata.labels?.[L.cluster] ?? '');
    if (!dir) return;
    const image = pod.spec.containers[0].image;
    patchStatus(this.ctx.store, GVR.pod, pod, (s) => Object.assign(s, podStatus('Running', role, false, { image })));
    entry.procs = this.ctx.procs.sub();
    const io: JobIO = {
      log: (t) => this.ctx.logs.append(ns, pod.metadata.name, role, t),
      signal: entry.abort.signal,
      procs: entry.procs,
      dir,
      pod,
    };
    let ok = false;
    try {
      if (!cluster) throw new Error('cluster not found');
      await this.work(role, cluster, io);
      ok = true;
    } catch (err) {
      if (!entry.abort.signal.aborted) io.log(`${err instanceof Error ? err.message : String(err)}\n`);
    } finally {
      await entry.procs.stopAll(2000);
      entry.procs = undefined;
    }
    if (entry.abort.signal.aborted || this.ctx.stopping) return;
    patchStatus(this.ctx.store, GVR.pod, pod, (s) =>
      Object.assign(s, podStatus(ok ? 'Succeeded' : 'Failed', role, false, { exitCode: ok ? 0 : 1, image })),
    );
    this.removeFinalizer(pod);
    if (cluster) this.ctx.kickCluster(ns, cluster.metadata.name);
  }

  /** A pod being deleted: stop its processes, then let it go. */
  private async release(pod: KubeObject, entry: Running | undefined): Promise<void> {
    if (entry) {
      entry.abort.abort();
      await entry.procs?.stopAll(2000);
      await entry.done;
    }
    this.removeFinalizer(pod);
  }

  private removeFinalizer(pod: KubeObject): void {
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
