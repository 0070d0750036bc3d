// Where a pod's container port really listens (the operator registers its Postgres ports), and the
// Services' endpoints as kube-proxy last programmed them (controllers/endpoints.ts sets them after its
// delay); pods/portforward resolves pods, Service connections resolve through the routes.
import type { PodNetwork, ServiceRoute } from './types.js';

type Target = { host: string; port: number };

export class MemPodNetwork implements PodNetwork {
  private readonly ports = new Map<string, Map<number, Target>>();
  private readonly routes = new Map<string, ServiceRoute & { next: number }>();

  register(namespace: string, pod: string, containerPort: number, target: Target): void {
    const k = `${namespace}/${pod}`;
    if (!this.ports.has(k)) this.ports.set(k, new Map());
    this.ports.get(k)!.set(containerPort, { ...target });
  }

  unregister(namespace: string, pod: string): void {
    this.ports.delete(`${namespace}/${pod}`);
  }

  resolve(namespace: string, pod: string, containerPort: number): Target | undefined {
    const t = this.ports.get(`${namespace}/${pod}`)?.get(containerPort);
    return t && { ...t };
  }

  setRoute(namespace: string, service: string, route: ServiceRoute | undefined): void {
    const k = `${namespace}/${service}`;
    if (route) this.routes.set(k, { pods: [...route.pods], ports: { ...route.ports }, next: 0 });
    else this.routes.delete(k);
  }

  route(namespace: string, service: string): ServiceRoute | undefined {
    const r = this.routes.get(`${namespace}/${service}`);
    return r && { pods: [...r.pods], ports: { ...r.ports } };
  }

  /**
   * Where a new connection to the Service's `port` goes: its routed endpoints in turn (kube-proxy picks
   * one per connection), undefined when it has none or the one picked no longer listens (a real client
   * is refused: routes lag behind the pods).
   */
  resolveService(namespace: string, service: string, port: number): (Target & { pod: string }) | undefined {
    const r = this.routes.get(`${namespace}/${service}`);
    const targetPort = r?.ports[port];
    if (!r || targetPort === undefined || r.pods.length === 0) return undefined;
    const pod = r.pods[r.next++ % r.pods.length];
    const t = this.resolve(namespace, pod, targetPort);
    return t && { ...t, pod };
  }
}
