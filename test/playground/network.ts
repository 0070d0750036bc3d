// Where a pod's container port really listens (the operator registers its Postgres ports);
// pods/portforward and Service lookups resolve through it.
import type { PodNetwork } from './types.js';

export class MemPodNetwork implements PodNetwork {
  private readonly ports = new Map<string, Map<number, { host: string; port: number }>>();

  register(namespace: string, pod: string, containerPort: number, target: { host: string; port: number }): void {
    const k = `${namespace}/${pod}`;
    if (!this.ports.has(k)) this.ports.set(k, new Map());
    this.ports.get(k)!.set(containerPort, { ...target });
  }

  unregister(namespace: string, pod: string): void {
    this.ports.delete(`${namespace}/${pod}`);
  }

  resolve(namespace: string, pod: string, containerPort: number): { host: string; port: number } | undefined {
    const t = this.ports.get(`${namespace}/${pod}`)?.get(containerPort);
    return t && { ...t };
  }
}
