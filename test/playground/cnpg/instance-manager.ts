// The "kubelet + instance manager" of instance pods: runs the real postmaster on the pod's
// volume, reports readiness in the pod status, restarts a crashed postgres after a back-off,
// and on deletion stops postgres before releasing the pod (finalizer) and so its PVC.
import { join } from 'node:path';
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER, L, key, mutateQuiet, patchStatus } from './context.js';
import { archiveSettings, ensureStandbySignal, replicaSettings, userParameters } from './postgres-config.js';
import { PgInstance } from './postgres.js';
import { podStatus } from './pod-status.js';
import { sleep } from './proc.js';
import { claimPath, podClaim } from './cluster-pvc.js';
import { crashRestartDelay, type CrashBackOff } from './versions.js';

interface PodRuntime {
  ns: string;
  name: string;
  cluster: string;
  instance?: PgInstance;
  ready: boolean;
  everReady: boolean;
  restartCount: number;
  restartTimer?: NodeJS.Timeout;
  /** The kubelet's back-off entry for the container (seeded timing). */
  backOff?: CrashBackOff;
  starting?: Promise<void>;
  configHash?: string;
  deleting: boolean;
  startTime?: string;
}

export class InstanceManager {
  private readonly pods = new Map<string, PodRuntime>();

  constructor(private readonly ctx: Ctx) {}

  instance(ns: string, pod: string): PgInstance | undefined {
    const rt = this.pods.get(key(ns, pod));
    return rt?.ready ? rt.instance : undefined;
  }

  isReady(ns: string, pod: string): boolean {
    return this.pods.get(key(ns, pod))?.ready ?? false;
  }

  wasEverReady(ns: string, pod: string): boolean {
    return this.pods.get(key(ns, pod))?.everReady ?? false;
  }

  /** Called for every instance-pod event. */
  onPod(pod: KubeObject, deleted: boolean): void {
    const k = key(pod.metadata.namespace, pod.metadata.name);
    let rt = this.pods.get(k);
    if (deleted || pod.metadata.deletionTimestamp) {
      if (rt && !rt.deleting) {
        rt.deleting = true;
        void this.teardown(rt, pod);
      } else if (!rt && pod.metadata.finalizers?.includes(KUBELET_FINALIZER)) {
        this.removeFinalizer(pod.metadata.namespace!, pod.metadata.name);
      }
      return;
    }
    if (!pod.metadata.finalizers?.includes(KUBELET_FINALIZER)) return; // not ours to run
    if (!rt) {
      rt = {
        ns: pod.metadata.namespace!,
        name: pod.metadata.name,
        cluster: pod.metadata.labels?.[L.cluster] ?? '',
        ready: false,
        everReady: false,
        restartCount: 0,
        deleting: false,
      };
      this.pods.set(k, rt);
      this.start(rt);
    }
  }

  private start(rt: PodRuntime): void {
    if (rt.starting || rt.deleting || this.ctx.stopping) return;
    rt.starting = this.startOnce(rt)
      .catch((err) => {
        this.log(rt, `operator: cannot start postgres: ${(err as Error).message}\n`);
        this.scheduleRestart(rt);
      })
      .finally(() => {
        rt.starting = undefined;
      });
  }

  private log(rt: PodRuntime, text: string): void {
    this.ctx.logs.append(rt.ns, rt.name, 'postgres', text);
  }

  private async startOnce(rt: PodRuntime): Promise<void> {
    // Scheduling and the image pull come before the first start of the container.
    if (!rt.instance) await sleep(this.ctx.timing.delay('podStart'));
    let dir: string | undefined;
    for (;;) {
      const pod = this.ctx.store.get(GVR.pod, rt.ns, rt.name);
      if (!pod || rt.deleting || this.ctx.stopping) return;
      const claim = podClaim(pod);
      dir = claim ? claimPath(this.ctx, rt.ns, claim) : undefined;
      if (dir) break;
      await sleep(100);
    }
    const cluster = this.ctx.store.get(GVR.cluster, rt.ns, rt.cluster);
    if (!cluster) return;
    if (!rt.instance) {
      rt.instance = new PgInstance({
        pgdata: join(dir, 'pgdata'),
        procs: this.ctx.procs,
        onLog: (t) => this.log(rt, t),
      });
      await rt.instance.allocateEndpoint(); // the port stays with the pod across restarts
      rt.instance.onUnexpectedExit = (code, signal) => this.onCrash(rt, code, signal);
    }
    const inst = rt.instance;
    if (!inst.hasData()) throw new Error(`no PGDATA in ${inst.pgdata}`);
    this.writeConfig(rt, cluster, dir);
    await inst.start();
    if (rt.deleting || this.ctx.stopping) return;
    this.ctx.network.register(rt.ns, rt.name, 5432, { host: '127.0.0.1', port: inst.port });
    rt.ready = true;
    rt.everReady = true;
    rt.startTime ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.updateStatus(rt);
    this.ctx.kickCluster(rt.ns, rt.cluster);
  }

  /** The instance manager compares its pod with the cluster's targetPrimary (labels come later). */
  private role(rt: PodRuntime): 'primary' | 'replica' {
    const cluster = this.ctx.store.get(GVR.cluster, rt.ns, rt.cluster);
    return cluster?.status?.targetPrimary === rt.name ? 'primary' : 'replica';
  }

  /** Writes the configuration; returns a hash so changes can be detected. */
  private writeConfig(rt: PodRuntime, cluster: KubeObject, dir: string): string {
    const inst = rt.instance!;
    const role = this.role(rt);
    const extra: Record<string, string> = { ...inst.endpointSettings(), ...archiveSettings(this.ctx, cluster, dir) };
    if (role === 'replica') {
      const primaryName = cluster.status?.currentPrimary ?? `${cluster.metadata.name}-1`;
      const primary = this.pods.get(key(rt.ns, primaryName))?.instance;
      if (primary) Object.assign(extra, replicaSettings(rt.name, primary));
    }
    ensureStandbySignal(inst.pgdata, role === 'replica');
    const params = userParameters(cluster);
    inst.configure(params, extra);
    const hash = JSON.stringify([params, extra]);
    rt.configHash = hash;
    return hash;
  }

  /** Applies a changed Cluster spec to a running instance: reload, or restart when required. */
  async reconfigure(ns: string, podName: string, cluster: KubeObject): Promise<void> {
    const rt = this.pods.get(key(ns, podName));
    if (!rt?.ready || !rt.instance || rt.starting) return;
    const pod = this.ctx.store.get(GVR.pod, ns, podName);
    const claim = pod && podClaim(pod);
    const dir = claim && claimPath(this.ctx, ns, claim);
    if (!dir) return;
    const before = rt.configHash;
    const inst = rt.instance;
    const next = this.writeConfig(rt, cluster, dir);
    if (next === before) return;
    await inst.query('SELECT pg_reload_conf()');
    await sleep(200);
    const pending = await inst.query<{ name: string }>('SELECT name FROM pg_settings WHERE pending_restart');
    if (pending.length > 0) {
      this.log(rt, `operator: restarting instance to apply ${pending.map((p) => p.name).join(', ')}\n`);
      rt.ready = false;
      this.updateStatus(rt);
      await inst.stop();
      await inst.start();
      rt.ready = true;
      this.updateStatus(rt);
    }
  }

  private onCrash(rt: PodRuntime, code: number | null, signal: string | null): void {
    if (rt.deleting || this.ctx.stopping) return;
    this.log(rt, `operator: postgres exited unexpectedly (code ${code}, signal ${signal})\n`);
    rt.ready = false;
    rt.restartCount++;
    this.ctx.network.unregister(rt.ns, rt.name);
    this.updateStatus(rt, 'CrashLoopBackOff');
    this.ctx.kickCluster(rt.ns, rt.cluster);
    this.scheduleRestart(rt);
  }

  private scheduleRestart(rt: PodRuntime): void {
    if (rt.deleting || this.ctx.stopping || rt.restartTimer) return;
    const delay = this.restartDelay(rt);
    rt.restartTimer = setTimeout(() => {
      rt.restartTimer = undefined;
      this.start(rt);
    }, delay);
  }

  private restartDelay(rt: PodRuntime): number {
    const initialMs = this.ctx.settings.crashRestartDelayMs;
    const { delayMs, backOff } = crashRestartDelay(this.ctx.timing, { ...rt, initialMs });
    rt.backOff = backOff;
    return delayMs;
  }

  private updateStatus(rt: PodRuntime, waiting?: string): void {
    const pod = this.ctx.store.get(GVR.pod, rt.ns, rt.name);
    if (!pod || pod.metadata.deletionTimestamp) return;
    patchStatus(this.ctx.store, GVR.pod, pod, (s) => {
      const next = podStatus('Running', 'postgres', rt.ready, {
        restartCount: rt.restartCount,
        waiting,
        startTime: rt.startTime,
      });
      // keep transition times stable when nothing changed
      const sameReady =
        s.containerStatuses?.[0]?.ready === rt.ready && s.containerStatuses?.[0]?.restartCount === rt.restartCount;
      if (sameReady && !waiting) return;
      Object.assign(s, next);
    });
  }

  private async teardown(rt: PodRuntime, pod: KubeObject): Promise<void> {
    if (rt.restartTimer) clearTimeout(rt.restartTimer);
    await rt.starting;
    rt.ready = false;
    this.ctx.network.unregister(rt.ns, rt.name);
    if (rt.instance) {
      this.log(rt, 'operator: shutting down postgres (fast)\n');
      await rt.instance.stop();
      rt.instance.releaseSocketDir();
    }
    this.pods.delete(key(rt.ns, rt.name));
    this.removeFinalizer(pod.metadata.namespace!, pod.metadata.name);
    this.ctx.kickCluster(rt.ns, rt.cluster);
  }

  private removeFinalizer(ns: string, name: string): void {
    mutateQuiet(this.ctx.store, GVR.pod, ns, name, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== KUBELET_FINALIZER);
    });
  }

  /** Operator stop: every postmaster down (fast shutdown); pods stay as they are. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.pods.values()].map(async (rt) => {
        rt.deleting = true;
        if (rt.restartTimer) clearTimeout(rt.restartTimer);
        await rt.starting;
        await rt.instance?.stop(5000);
        rt.instance?.releaseSocketDir();
        this.ctx.network.unregister(rt.ns, rt.name);
      }),
    );
    this.pods.clear();
  }
}
