// The EndpointSlice controller and kube-proxy at once (kubernetes pkg/controller/endpointslice,
// pkg/proxy): a Service routes to the pods its selector matches that are Ready and not terminating
// (with publishNotReadyAddresses, every matching pod with an IP that has not ended, terminating too), and a
// pod's change in readiness, labels or existence reaches the routes only after the seeded `endpoints` delay
// (timing.ts). The routes live in the pod network (network.ts); no EndpointSlice objects are written.
import type { KubeObject, PodNetwork, ServiceRoute } from '../../types.js';
import type { Timing } from '../../timing.js';
import { labelSelectorFromObject } from '../selectors.js';
import type { MemStore } from '../store.js';
import { podReady } from './owners.js';
import { nsName, ReconcileQueue, splitKey } from './queue.js';

const SERVICES = 'v1/services';

type ServicePort = { port: number; targetPort?: number | string };
type ContainerPort = { name?: string; containerPort: number };

/** Service port to pod port; a named targetPort is looked up in the first routed pod's containers. */
function portMap(svc: KubeObject, pods: KubeObject[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const p of (svc.spec?.ports ?? []) as ServicePort[]) {
    if (typeof p.targetPort !== 'string') out[p.port] = p.targetPort ?? p.port;
    else {
      const named = pods
        .flatMap((pod) => (pod.spec?.containers ?? []).flatMap((c: { ports?: ContainerPort[] }) => c.ports ?? []))
        .find((c: ContainerPort) => c.name === p.targetPort);
      if (named) out[p.port] = named.containerPort;
    }
  }
  return out;
}

/**
 * ShouldPodBeInEndpoints (k8s.io/endpointslice util/controller_utils.go): not terminal, with an IP, and terminating
 * only when the Service publishes not-ready addresses (podToEndpoint then marks it ready, so kube-proxy routes to it).
 */
function inEndpoints(p: KubeObject, includeTerminating: boolean): boolean {
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return false;
  if (!p.status?.podIP && !p.status?.podIPs?.length) return false;
  return includeTerminating || !p.metadata.deletionTimestamp;
}

/** What kube-proxy routes the Service to now; undefined when it has no selector (endpoints come from elsewhere). */
export function desiredRoute(store: Pick<MemStore, 'list'>, svc: KubeObject): ServiceRoute | undefined {
  const selector = svc.spec?.selector as Record<string, string> | undefined;
  if (!selector || svc.spec?.type === 'ExternalName') return undefined;
  const matches = labelSelectorFromObject({ matchLabels: selector });
  const notReadyToo = svc.spec?.publishNotReadyAddresses === true;
  const pods = store
    .list('v1/pods', svc.metadata.namespace)
    .items.filter((p) => matches(p.metadata.labels) && inEndpoints(p, notReadyToo))
    .filter((p) => notReadyToo || podReady(p))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return { pods: pods.map((p) => p.metadata.name), ports: portMap(svc, pods) };
}

export function startEndpointsController(store: MemStore, network: PodNetwork, timing: Timing): { stop(): void } {
  const queue = new ReconcileQueue('endpoints', (key) => {
    const [ns, name] = splitKey(key);
    const svc = store.get(SERVICES, ns, name);
    network.setRoute(ns ?? '', name, svc && desiredRoute(store, svc));
  });
  const enqueue = (ns: string | undefined, name: string) => queue.add(nsName(ns, name), timing.delay('endpoints'));
  /** The Services a pod belonged to (by its old labels or the current routes) or belongs to now. */
  const servicesOf = (pod: KubeObject, old: KubeObject | undefined) =>
    store.list(SERVICES, pod.metadata.namespace).items.filter((svc) => {
      const sel = svc.spec?.selector as Record<string, string> | undefined;
      if (!sel) return false;
      const m = labelSelectorFromObject({ matchLabels: sel });
      const routed = network.route(svc.metadata.namespace ?? '', svc.metadata.name)?.pods ?? [];
      return m(pod.metadata.labels) || (old && m(old.metadata.labels)) || routed.includes(pod.metadata.name);
    });
  const off = store.onChange((c) => {
    if (c.resource === '/services') enqueue(c.obj.metadata.namespace, c.obj.metadata.name);
    if (c.resource === '/pods')
      for (const svc of servicesOf(c.obj, c.old)) enqueue(svc.metadata.namespace, svc.metadata.name);
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}
