// The -rw / -ro / -r Services (pkg/specs/services.go, reconcilePostgresServices): selectors by
// cluster and instance role, port `postgres` 5432, the cluster's inherited labels plus (1.28+) the
// app.kubernetes.io ones; -ro and -r can be switched off with
// spec.managed.services.disabledDefaultServices (a disabled one is deleted), -rw cannot.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, ownerRef, upsert } from './context.js';
import { appLabels, inherited } from './cluster-labels.js';

export function ensureServices(ctx: Ctx, cluster: KubeObject): void {
  const name = cluster.metadata.name;
  const ns = cluster.metadata.namespace;
  const disabled: string[] = cluster.spec?.managed?.services?.disabledDefaultServices ?? [];
  const meta = inherited(ctx, cluster);
  const defs: Array<[string, Record<string, string>]> = [
    ['r', { [L.cluster]: name, [L.podRole]: 'instance' }],
    ['ro', { [L.cluster]: name, [L.instanceRole]: 'replica' }],
    ['rw', { [L.cluster]: name, [L.instanceRole]: 'primary' }],
  ];
  for (const [suffix, selector] of defs) {
    const svc = `${name}-${suffix}`;
    if (suffix !== 'rw' && disabled.includes(suffix)) {
      const existing = ctx.store.get(GVR.service, ns, svc);
      if (existing?.metadata.ownerReferences?.some((r) => r.uid === cluster.metadata.uid))
        ctx.store.delete(GVR.service, ns, svc);
      continue;
    }
    upsert(ctx.store, GVR.service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: svc,
        namespace: ns,
        labels: { ...meta.labels, ...appLabels(ctx, cluster) },
        annotations: meta.annotations,
        ownerReferences: [ownerRef(cluster)],
      },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'postgres', port: 5432, protocol: 'TCP', targetPort: 5432 }],
      },
    });
  }
}
