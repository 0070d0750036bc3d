// Shared operator state and small Kubernetes helpers used by every reconciler.
import type { KubeObject, OperatorSettings, PodLogs, PodNetwork, S3Handle, Store, OwnerReference } from '../types.js';
import { ApiError } from '../types.js';
import { Barman } from './barman.js';
import { ProcessGroup } from './proc.js';
import type { Timing } from '../timing.js';

export const GVR = {
  cluster: 'postgresql.cnpg.io/v1/clusters',
  backup: 'postgresql.cnpg.io/v1/backups',
  scheduledBackup: 'postgresql.cnpg.io/v1/scheduledbackups',
  database: 'postgresql.cnpg.io/v1/databases',
  imageCatalog: 'postgresql.cnpg.io/v1/imagecatalogs',
  clusterImageCatalog: 'postgresql.cnpg.io/v1/clusterimagecatalogs',
  objectStore: 'barmancloud.cnpg.io/v1/objectstores',
  pod: 'v1/pods',
  pvc: 'v1/persistentvolumeclaims',
  pv: 'v1/persistentvolumes',
  secret: 'v1/secrets',
  service: 'v1/services',
  job: 'batch/v1/jobs',
  crd: 'apiextensions.k8s.io/v1/customresourcedefinitions',
} as const;

export const L = {
  cluster: 'cnpg.io/cluster',
  instanceName: 'cnpg.io/instanceName',
  podRole: 'cnpg.io/podRole',
  instanceRole: 'cnpg.io/instanceRole',
  jobRole: 'cnpg.io/jobRole',
  pvcRole: 'cnpg.io/pvcRole',
  scheduledBackup: 'cnpg.io/scheduled-backup',
} as const;

export const KUBELET_FINALIZER = 'playground.cnpg.io/kubelet';
export const PLUGIN_NAME = 'barman-cloud.cloudnative-pg.io';

export interface Ctx {
  store: Store;
  network: PodNetwork;
  logs: PodLogs;
  s3: S3Handle;
  dataDir: string;
  settings: OperatorSettings;
  timing: Timing;
  procs: ProcessGroup;
  barman: Barman;
  stopping: boolean;
  /** Asks the cluster reconciler to look at a cluster again soon. */
  kickCluster(namespace: string, name: string): void;
}

export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** CNPG's SetAsOwnedBy (pkg/utils/ownership.go): controller, but no blockOwnerDeletion. */
export function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid!,
    controller: true,
  };
}

/** controller-runtime's SetControllerReference, which CNPG uses for instance pods and Jobs: blocks. */
export function controllerRef(owner: KubeObject): OwnerReference {
  return { ...ownerRef(owner), blockOwnerDeletion: true };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(status: Record<string, unknown>, c: Condition): void {
  const list = ((status.conditions as Condition[] | undefined) ?? []).slice();
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now() };
  if (i >= 0) list[i] = next;
  else list.push(next);
  status.conditions = list;
}

export function getCondition(obj: KubeObject | undefined, type: string): Condition | undefined {
  return (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

/** Creates, or replaces the spec-ish fields of, an object we own; ignores races with deletion. */
export function upsert(
  store: Store,
  gvr: string,
  obj: KubeObject,
  merge?: (existing: KubeObject) => boolean,
): KubeObject | undefined {
  const existing = store.get(gvr, obj.metadata.namespace, obj.metadata.name);
  if (!existing) {
    try {
      return store.create(gvr, obj);
    } catch (err) {
      if (err instanceof ApiError && err.code === 409) return store.get(gvr, obj.metadata.namespace, obj.metadata.name);
      throw err;
    }
  }
  if (merge && existing.metadata.deletionTimestamp === undefined) {
    return (
      store.mutate(gvr, obj.metadata.namespace, obj.metadata.name, (o) => {
        if (!merge(o)) throw new NoChange();
      }) ?? existing
    );
  }
  return existing;
}

/** Thrown inside a mutate() callback to skip the write. */
export class NoChange extends Error {}

/** mutate() that treats NoChange and NotFound as "nothing to do". */
export function mutateQuiet(
  store: Store,
  gvr: string,
  ns: string | undefined,
  name: string,
  fn: (o: KubeObject) => void,
  opts?: { status?: boolean },
): KubeObject | undefined {
  try {
    return store.mutate(gvr, ns, name, fn, opts);
  } catch (err) {
    if (err instanceof NoChange) return store.get(gvr, ns, name);
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** Status update that writes only when something changed (avoids watch storms). */
export function patchStatus(
  store: Store,
  gvr: string,
  obj: KubeObject,
  fn: (status: Record<string, any>) => void,
): KubeObject | undefined {
  return mutateQuiet(
    store,
    gvr,
    obj.metadata.namespace,
    obj.metadata.name,
    (o) => {
      const before = JSON.stringify(o.status ?? {});
      o.status = o.status ?? {};
      fn(o.status);
      if (JSON.stringify(o.status) === before) throw new NoChange();
    },
    { status: true },
  );
}

export function randomPassword(len = 64): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(len));
  return Array.from(bytes, (b) => chars[b % chars.length]).join('');
}

export function randomSuffix(len = 5): string {
  const chars = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(len));
  return Array.from(bytes, (b) => chars[b % chars.length]).join('');
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined) =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** A Secret's key, decoded (data is base64; stringData is accepted too, as some stores keep it). */
export function secretValue(secret: KubeObject | undefined, key: string): string | undefined {
  if (!secret) return undefined;
  if (secret.data?.[key] !== undefined) return unb64(secret.data[key]);
  return secret.stringData?.[key];
}

export const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

// Version rules live in versions.ts; re-exported for the modules that compare versions.
export { versionAtLeast } from './versions.js';
