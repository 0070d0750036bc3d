// The -rw / -ro / -r Services: selectors by cluster and instance role, like CNPG's.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, ownerRef, upsert } from './context.js';

export function ensureServices(ctx: Ctx, cluster: KubeObject): void {
  const name = cluster.metadata.name;
  const defs: Array<[string, Record<string, string>]> = [
    ['rw', { [L.cluster]: name, [L.instanceRole]: 'primary' }],
    ['ro', { [L.cluster]: name, [L.instanceRole]: 'replica' }],
    ['r', { [L.cluster]: name, [L.podRole]: 'instance' }],
  ];
  for (const [suffix, selector] of defs) {
    upsert(ctx.store, GVR.service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${name}-${suffix}`, namespace: cluster.metadata.namespace, labels: { [L.cluster]: name, 'cnpg.io/isManaged': 'true' }, ownerReferences: [ownerRef(cluster)] },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'postgres', port: 5432, protocol: 'TCP', targetPort: 5432 }] },
    });
  }
}
