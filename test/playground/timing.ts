// Realistic timing: what a real cluster does later, through another controller, the playground's
// controllers do after a delay drawn from one seeded source, so an ordering a product relies on
// shows up as a failure that replays with the printed seed (PLAYGROUND_SEED). Real-world ranges of
// seconds are compressed by TIME_SCALE (cnpg/versions.ts), sub-second ones stay real. `fixed` timing
// (each kind's `fixed` value, the playground's delays before seeding) is for the few tests whose
// point is a precise timing.
import { TIME_SCALE } from './cnpg/versions.js';

const s = (seconds: number) => Math.round(seconds * 1000 * TIME_SCALE); // compressed
export interface DelayKind {
  /** Milliseconds, inclusive. */
  range: [number, number];
  fixed: number;
  upstream: string;
}

export const DELAYS = {
  /** kubelet.ts: scheduling, image present, container start; instance-manager.ts: the first start. */
  podStart: {
    range: [s(1), s(5)],
    fixed: 200,
    upstream:
      'pod startup SLO, 99th percentile <= 5 s excluding image pulls: kubernetes/community sig-scalability/slos/pod_startup_latency.md (1-5 s, compressed)',
  },
  /** kubelet.ts: a run-to-completion container's run before it is Succeeded. */
  podRun: {
    range: [s(1), s(5)],
    fixed: 150,
    upstream:
      'as podStart: the container start and exit reported by the PLEG relist (pkg/kubelet/pleg/generic.go, 1 s period), compressed',
  },
  /** jobs.ts: pod creation after a Job event, and on top of the pod-failure back-off. */
  jobSync: {
    range: [0, s(1)],
    fixed: 0,
    upstream: 'syncJobBatchPeriod = 1 s: kubernetes pkg/controller/job/job_controller.go (compressed)',
  },
  /** volumes.ts: a claim provisioned and bound. */
  volumeProvision: {
    range: [s(1), s(5)],
    fixed: 0,
    upstream:
      'CSI external-provisioner CreateVolume then PV controller bind (kubernetes-csi/external-provisioner; kubernetes pkg/controller/volume/persistentvolume/pv_controller.go), seconds, compressed',
  },
  /** volumes.ts: a Released Delete-policy PV removed by its provisioner. */
  volumeDelete: {
    range: [s(5), s(60)],
    fixed: 3_000,
    upstream:
      'deleteVolumeOperation: provisioner Delete, then the PV object (pv_controller.go), seconds to a minute, compressed',
  },
  /** gc.ts: dependents of a deleted (or foreground-deleting) owner. */
  garbageCollect: {
    range: [10, 200],
    fixed: 0,
    upstream:
      "attemptToDelete queue fed by the graph builder's informers: kubernetes pkg/controller/garbagecollector/garbagecollector.go, graph_builder.go (sub-second, real)",
  },
  /** namespaces.ts: content deletion of a terminating namespace. */
  namespaceDelete: {
    range: [s(1), s(5)],
    fixed: 0,
    upstream:
      'namespaceDeletionGracePeriod = 5 s: kubernetes pkg/controller/namespace/namespace_controller.go (compressed)',
  },
  /** crds.ts: a new CRD Established and served. */
  crdEstablish: {
    range: [0, s(5)],
    fixed: 50,
    upstream:
      'establishing controller, QueueCRD 5 s with several API servers, else at once: apiextensions-apiserver pkg/apiserver/customresource_handler.go (compressed)',
  },
  /** replicasets.ts, deployments.ts: a sync after an event. */
  workload: {
    range: [0, 100],
    fixed: 0,
    upstream:
      'informer to workqueue to sync: kubernetes pkg/controller/replicaset/replica_set.go, deployment/deployment_controller.go (sub-second, real)',
  },
  /** cnpg/workqueue.ts: added to a reconcile's RequeueAfter. */
  operatorRequeue: {
    range: [0, 100],
    fixed: 0,
    upstream:
      'controller-runtime Queue.AddAfter(RequeueAfter), then waiting for a worker: pkg/internal/controller/controller.go (sub-second, real)',
  },
  /** cnpg/workqueue.ts: the retry after a reconcile error. */
  operatorError: {
    range: [250, 1_000],
    fixed: 1_000,
    upstream:
      'controller-runtime default rate limiter, per-item exponential from 5 ms: pkg/internal/controller/controller.go (floored so an error does not spin)',
  },
  /** endpoints.ts: a Service's routed endpoints follow a pod's readiness, labels or deletion. */
  endpoints: {
    range: [s(0.5), s(3)],
    fixed: 0,
    upstream:
      'EndpointSlice controller: a pod change queues its Services after endpointUpdatesBatchPeriod (default 0), then kube-proxy applies the slice within its minSyncPeriod (1 s) plus the rules sync: kubernetes pkg/controller/endpointslice/endpointslice_controller.go@003e862, pkg/proxy/apis/config/v1alpha1/defaults.go@04791b4 (compressed)',
  },
  /** kubelet.ts: the retry of a pod whose container config (a Secret, a ConfigMap) is missing. */
  podSyncRetry: {
    range: [s(10), s(15)],
    fixed: 2_000,
    upstream:
      'a failed pod sync is requeued after wait.Jitter(backOffPeriod = 10 s, workerBackOffPeriodJitterFactor = 0.5): kubernetes pkg/kubelet/pod_workers.go, pkg/kubelet/kubelet.go (compressed)',
  },
  /** instance-manager.ts, bootstrap-inpod.ts: after the CrashLoopBackOff expires, the wait for the next pod sync. */
  crashLoopSync: {
    range: [0, s(15)],
    fixed: 0,
    upstream:
      'the restart happens at the first pod-worker sync after the back-off (syncs every 10-15 s while it loops): kubernetes pkg/kubelet/pod_workers.go (compressed)',
  },
  /** images.ts: pulling an image the node does not have (pulls are serialized); last, so no other kind's stream shifts. */
  imagePull: {
    range: [s(1), s(60)],
    fixed: 0,
    upstream:
      'an image pull, seconds to minutes (a PostgreSQL image is hundreds of MB): kubelet_image_pull_duration_seconds buckets from 1 s (kubernetes pkg/kubelet/metrics/metrics.go@94341df `imagePullDurationBuckets`), excluded from the pod startup SLO; EnsureImageExists and the Pulling/Pulled events: pkg/kubelet/images/image_manager.go@cfce511; serializeImagePulls true by default: pkg/kubelet/apis/config/v1beta1/defaults.go@1c9cf91 (1-60 s, compressed)',
  },
} satisfies Record<string, DelayKind>;

export type DelayName = keyof typeof DELAYS;

export interface Timing {
  mode: 'random' | 'fixed';
  seed: number;
  /** The delay before the next `kind` action, in milliseconds. */
  delay(kind: DelayName): number;
}

/** mulberry32: a small 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let processSeed: number | undefined;
/** One seed per test process (PLAYGROUND_SEED, else random): the playgrounds of a pair share it, so it replays both. */
export function playgroundSeed(): number {
  const env = process.env.PLAYGROUND_SEED;
  if (env && !/^\d+$/.test(env)) throw new Error(`PLAYGROUND_SEED must be a non-negative integer, not '${env}'`);
  processSeed ??= env ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  return processSeed;
}

/** Seeded timing (the seed: `playgroundSeed()` unless given), or `fixed`. */
export function createTiming(opts: { mode?: 'random' | 'fixed'; seed?: number } = {}): Timing {
  const mode = opts.mode ?? 'random';
  const seed = (opts.seed ?? (mode === 'fixed' ? 0 : playgroundSeed())) >>> 0;
  // One stream per kind: a kind's draws do not shift when another kind's happen in another order.
  const streams = new Map<DelayName, () => number>();
  const stream = (kind: DelayName) => {
    if (!streams.has(kind)) streams.set(kind, mulberry32(seed + Object.keys(DELAYS).indexOf(kind) * 0x9e3779b9));
    return streams.get(kind)!;
  };
  return {
    mode,
    seed,
    delay(kind) {
      const { range, fixed } = DELAYS[kind];
      return mode === 'fixed' ? fixed : range[0] + Math.floor(stream(kind)() * (range[1] - range[0] + 1));
    },
  };
}

/** The line a playground prints when it starts, so a failure replays. */
export const seedLine = (t: Timing) =>
  t.mode === 'fixed'
    ? 'playground timing: fixed'
    : `playground timing: seed ${t.seed} (PLAYGROUND_SEED=${t.seed} replays it)`;
