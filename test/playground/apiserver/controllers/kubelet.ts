// A generic kubelet for pods no registered container runtime claims (runtimes.ts): after a short start-up delay and
// the pull of the images the node does not have yet (images.ts) a pod is Running and Ready (or Succeeded for
// run-to-completion pods), unless its image cannot be pulled (reference containing
// `does-not-exist` or `invalid`): then it stays Pending in ImagePullBackOff with a
// Warning `Failed` event, as on a real node; or unless a container's env/envFrom names a missing Secret or
// ConfigMap: then it waits in CreateContainerConfigError, retried until the source appears.
import type { KubeObject, PodLogs } from '../../types.js';
import type { MemStore } from '../store.js';
import { nowIso, nsName, ReconcileQueue, splitKey } from './queue.js';
import type { ContainerRuntimes } from './runtimes.js';
import type { Timing } from '../../timing.js';
import { waitingStatus, type NodeImages } from './images.js';

const NODE = 'playground-node';
export const unpullable = (image: string) => /does-not-exist|invalid/.test(image);

/** A pod's conditions as the kubelet reports them (`reason` on those not true). */
export function conditions(ready: boolean, at: string, reason?: string) {
  const c = (type: string, status: boolean) => ({
    type,
    status: status ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(!status && reason ? { reason } : {}),
  });
  return [
    c('PodReadyToStartContainers', true),
    c('Initialized', true),
    c('Ready', ready),
    c('ContainersReady', ready),
    c('PodScheduled', true),
  ];
}

type Container = { name: string; image: string };

type EnvRef = { name?: string; key?: string; optional?: boolean };
type EnvContainer = {
  env?: { valueFrom?: { secretKeyRef?: EnvRef; configMapKeyRef?: EnvRef } }[];
  envFrom?: { secretRef?: EnvRef; configMapRef?: EnvRef }[];
};

/**
 * The kubelet's message when a container's env or envFrom names a missing Secret or ConfigMap (or key)
 * that is not optional: the container is not created (CreateContainerConfigError) until it appears.
 */
export function missingEnvSource(
  store: Pick<MemStore, 'get'>,
  ns: string,
  containers: EnvContainer[],
): string | undefined {
  const check = (kind: 'Secret' | 'ConfigMap', ref: EnvRef | undefined, needsKey: boolean) => {
    if (!ref?.name || ref.optional) return undefined;
    const obj = store.get(kind === 'Secret' ? 'v1/secrets' : 'v1/configmaps', ns, ref.name);
    if (!obj) return `${kind === 'Secret' ? 'secret' : 'configmap'} "${ref.name}" not found`;
    if (needsKey && ref.key && obj.data?.[ref.key] === undefined)
      return `couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`;
    return undefined;
  };
  for (const c of containers) {
    for (const e of c.env ?? [])
      for (const m of [
        check('Secret', e.valueFrom?.secretKeyRef, true),
        check('ConfigMap', e.valueFrom?.configMapKeyRef, true),
      ])
        if (m) return m;
    for (const f of c.envFrom ?? [])
      for (const m of [check('Secret', f.secretRef, false), check('ConfigMap', f.configMapRef, false)]) if (m) return m;
  }
  return undefined;
}

function blockOnConfig(store: MemStore, pod: KubeObject, message: string, retry: () => void): void {
  const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
  if (waiting?.reason === 'CreateContainerConfigError' && waiting.message === message) return retry();
  store.recordEvent(pod, 'Warning', 'Failed', `Error: ${message}`);
  const at = nowIso();
  store.mutate(
    'v1/pods',
    pod.metadata.namespace,
    pod.metadata.name,
    (o) => {
      o.status = {
        ...o.status,
        phase: 'Pending',
        startTime: o.status?.startTime ?? at,
        conditions: conditions(false, at, 'ContainersNotReady'),
        containerStatuses: (o.spec.containers as { name: string; image: string }[]).map((c) =>
          waitingStatus(c, { reason: 'CreateContainerConfigError', message }),
        ),
      };
    },
    { status: true },
  );
  retry();
}

export function startKubelet(
  store: MemStore,
  logs: PodLogs,
  runtimes: ContainerRuntimes,
  opts: { startDelayMs?: number; timing: Timing },
): { stop(): void } {
  const managedElsewhere = (p: KubeObject) => runtimes.claimedBy(p) !== undefined;
  const { timing } = opts;
  const node: Node = {
    store,
    logs,
    ip: 10,
    startDelayMs: opts.startDelayMs,
    timing,
    managedElsewhere,
    images: runtimes.images,
    pulled: new Map(),
  };
  const queue: ReconcileQueue = new ReconcileQueue('kubelet', (key) => reconcile(node, queue, key));
  // The scheduler's part: every pod is bound to the single node at creation.
  store.addAdmission('v1/pods', (op, obj) => {
    if (op === 'CREATE') obj.spec.nodeName ??= NODE;
  });
  const off = store.onChange((c) => {
    if (c.resource !== '/pods') return;
    const key = nsName(c.obj.metadata.namespace, c.obj.metadata.name);
    if (c.type === 'ADDED' && !managedElsewhere(c.obj)) {
      store.recordEvent(c.obj, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${NODE}`);
      queue.add(key, opts.startDelayMs ?? timing.delay('podStart'));
    }
    // A deleted pod's logs go with it, whichever runtime ran it (`kubectl logs` then 404s).
    if (c.type === 'DELETED') {
      logs.clear(c.obj.metadata.namespace!, c.obj.metadata.name);
      node.pulled.delete(c.obj.metadata.uid ?? key);
    }
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}

interface Node {
  store: MemStore;
  logs: PodLogs;
  /** The last pod IP handed out (10.244.0.x). */
  ip: number;
  startDelayMs?: number;
  timing: Timing;
  managedElsewhere: (p: KubeObject) => boolean;
  images: NodeImages;
  /** Pods (uid) whose images are on the node, or being pulled (false). */
  pulled: Map<string, boolean>;
}

function reconcile(node: Node, queue: ReconcileQueue, key: string): void {
  const [ns, name] = splitKey(key);
  const pod = node.store.get('v1/pods', ns, name);
  if (!pod || node.managedElsewhere(pod) || pod.metadata.deletionTimestamp) return;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return;
  const containers = pod.spec.containers as Container[];
  const at = nowIso();
  const bad = containers.find((c) => unpullable(c.image));
  if (bad) return failPull(node.store, pod, containers, bad, at);
  // The kubelet ensures the images before it builds the containers' config (kuberuntime startContainer).
  if (!imagesReady(node, queue, pod, key)) return;
  const configError = missingEnvSource(node.store, ns!, pod.spec.containers ?? []);
  // The kubelet does not watch the Secret or ConfigMap: its pod worker retries the failed sync later.
  const retry = () => queue.add(key, node.timing.delay('podSyncRetry'));
  if (configError) return void blockOnConfig(node.store, pod, configError, retry);
  const runToCompletion = pod.spec.restartPolicy !== 'Always';
  if (phase === 'Running' && !runToCompletion) return;
  if (phase !== 'Running') {
    startContainers(node, pod, containers, at);
    if (runToCompletion) queue.add(key, node.startDelayMs ?? node.timing.delay('podRun'));
    return;
  }
  complete(node, pod, containers, at);
}

/** Whether the pod's images are on the node; if not, starts their pull and reconciles the pod again once done. */
function imagesReady(node: Node, queue: ReconcileQueue, pod: KubeObject, key: string): boolean {
  const uid = pod.metadata.uid ?? key;
  const state = node.pulled.get(uid);
  if (state !== undefined) return state;
  node.pulled.set(uid, false);
  void node.images
    .ensure(pod)
    .then((r) => {
      if (!r.ok) return; // ErrImageNeverPull: no later sync brings the image
      node.pulled.set(uid, true);
      queue.add(key, 0);
    })
    .catch(() => node.pulled.delete(uid));
  return false;
}

function failPull(store: MemStore, pod: KubeObject, containers: Container[], bad: Container, at: string): void {
  if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff') return;
  store.recordEvent(pod, 'Normal', 'Pulling', `Pulling image "${bad.image}"`);
  store.recordEvent(
    pod,
    'Warning',
    'Failed',
    `Failed to pull image "${bad.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${bad.image}": not found`,
  );
  store.recordEvent(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
  const statuses = containers.map((c) =>
    waitingStatus(
      c,
      unpullable(c.image)
        ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` }
        : { reason: 'PodInitializing' },
    ),
  );
  setStatus(store, pod, (o) => ({
    phase: 'Pending',
    hostIP: '10.0.0.1',
    startTime: o.status?.startTime ?? at,
    conditions: conditions(false, at, 'ContainersNotReady'),
    containerStatuses: statuses,
  }));
}

function startContainers(node: Node, pod: KubeObject, containers: Container[], at: string): void {
  const { store, logs } = node;
  const { namespace, name } = pod.metadata;
  const podIP = `10.244.0.${(node.ip++ % 250) + 2}`;
  for (const c of containers) {
    store.recordEvent(pod, 'Normal', 'Created', `Created container ${c.name}`);
    store.recordEvent(pod, 'Normal', 'Started', `Started container ${c.name}`);
    logs.append(namespace!, name, c.name, `playground kubelet: started container ${c.name} (image ${c.image})\n`);
  }
  const statuses = containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
    containerID: `containerd://${name}-${c.name}`,
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: at } },
  }));
  setStatus(store, pod, () => ({
    phase: 'Running',
    hostIP: '10.0.0.1',
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: at,
    conditions: conditions(true, at),
    containerStatuses: statuses,
  }));
}

function complete(node: Node, pod: KubeObject, containers: Container[], at: string): void {
  const { namespace, name } = pod.metadata;
  for (const c of containers)
    node.logs.append(namespace!, name, c.name, `playground kubelet: container ${c.name} completed\n`);
  setStatus(node.store, pod, (o) => ({
    phase: 'Succeeded',
    conditions: conditions(false, at, 'PodCompleted'),
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        terminated: { exitCode: 0, reason: 'Completed', startedAt: o.status?.startTime ?? at, finishedAt: at },
      },
    })),
  }));
}

/** Merges `fields` into the pod's status through the status subresource. */
export function setStatus(
  store: Pick<MemStore, 'mutate'>,
  pod: KubeObject,
  fields: (o: KubeObject) => Record<string, unknown>,
): void {
  const { namespace, name } = pod.metadata;
  store.mutate('v1/pods', namespace, name, (o) => void (o.status = { ...o.status, ...fields(o) }), { status: true });
}
