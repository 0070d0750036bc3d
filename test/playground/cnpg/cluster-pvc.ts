// Instance volumes: a PVC per instance, owned by the Cluster; its data lives in the hostPath the
// API server's PV controller provisioned (owned by postgres, deleted with the PV).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, ownerRef, upsert } from './context.js';
import { inherited, pvcAppLabels } from './cluster-labels.js';

export function storageRequest(cluster: KubeObject): string {
  return cluster.spec?.storage?.size ?? cluster.spec?.storage?.pvcTemplate?.resources?.requests?.storage ?? '1Gi';
}

export function ensurePvc(ctx: Ctx, cluster: KubeObject, instanceName: string): KubeObject | undefined {
  const sc = cluster.spec?.storage?.storageClass ?? cluster.spec?.storage?.pvcTemplate?.storageClassName;
  const meta = inherited(ctx, cluster);
  return upsert(ctx.store, GVR.pvc, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: instanceName,
      namespace: cluster.metadata.namespace,
      labels: { [L.instanceName]: instanceName, [L.pvcRole]: 'PG_DATA', ...pvcAppLabels(ctx), ...meta.labels },
      annotations: {
        'cnpg.io/nodeSerial': instanceName.split('-').pop()!,
        'cnpg.io/pvcStatus': 'initializing',
        ...meta.annotations,
      },
      ownerReferences: [ownerRef(cluster)],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: storageRequest(cluster) } },
      ...(sc ? { storageClassName: sc } : {}),
      volumeMode: 'Filesystem',
    },
  });
}

/** The directory backing a claim, once bound; undefined while the PV controller has not bound it. */
export function claimPath(ctx: Ctx, namespace: string, claim: string): string | undefined {
  const pvc = ctx.store.get(GVR.pvc, namespace, claim);
  const pvName = pvc?.spec?.volumeName;
  if (!pvName) return undefined;
  const pv = ctx.store.get(GVR.pv, undefined, pvName);
  const path: string | undefined = pv?.spec?.hostPath?.path;
  return path;
}

export function podClaim(pod: KubeObject): string | undefined {
  return (pod.spec?.volumes ?? []).find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
}

/** Grow-only resize: the claim's request follows spec.storage.size; capacity follows at once. */
export function resizePvc(ctx: Ctx, cluster: KubeObject, pvc: KubeObject, bytes: (q: string) => number): void {
  const want = storageRequest(cluster);
  const have = pvc.spec?.resources?.requests?.storage;
  if (!have || bytes(want) <= bytes(have)) return;
  ctx.store.mutate(GVR.pvc, pvc.metadata.namespace, pvc.metadata.name, (o) => {
    o.spec.resources.requests.storage = want;
  });
  ctx.store.mutate(
    GVR.pvc,
    pvc.metadata.namespace,
    pvc.metadata.name,
    (o) => {
      o.status = { ...(o.status ?? {}), capacity: { ...(o.status?.capacity ?? {}), storage: want } };
    },
    { status: true },
  );
}
