// CustomResourceDefinitions: a new CRD's names are accepted and it becomes Established
// shortly after, at which point its served versions are served; deleting a CRD deletes
// every custom object of it, then stops serving it.
import { ApiError, type KubeObject, type ResourceType } from '../../types.js';
import { gvrKey } from '../builtins.js';
import type { MemStore } from '../store.js';
import type { Timing } from '../../timing.js';
import { nowIso, ReconcileQueue } from './queue.js';

const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const CRD_GVR = 'apiextensions.k8s.io/v1/customresourcedefinitions';

export function crdTypes(crd: KubeObject): ResourceType[] {
  const s = crd.spec;
  return (s.versions as { name: string; served?: boolean; subresources?: { status?: unknown } }[])
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: s.group,
      version: v.name,
      plural: s.names.plural,
      singular: s.names.singular ?? String(s.names.kind).toLowerCase(),
      kind: s.names.kind,
      listKind: s.names.listKind ?? `${s.names.kind}List`,
      namespaced: s.scope !== 'Cluster',
      statusSubresource: v.subresources?.status !== undefined,
      shortNames: s.names.shortNames,
    }));
}

function condition(type: string, status: string, reason: string, message: string) {
  return { type, status, reason, message, lastTransitionTime: nowIso() };
}

export function startCrdController(
  store: MemStore,
  opts: { establishDelayMs?: number; timing: Timing },
): { stop(): void } {
  const served = new Map<string, ResourceType[]>(); // CRD name -> registered types
  const queue: ReconcileQueue = new ReconcileQueue('crd', (name) => {
    const crd = store.get(CRD_GVR, undefined, name);
    const previous = served.get(name) ?? [];
    if (!crd) {
      for (const t of previous) store.unregisterType(gvrKey(t));
      served.delete(name);
    } else if (crd.metadata.deletionTimestamp) {
      if (finalize(store, crd, previous, () => served.delete(name)) === 'requeue') queue.add(name, 200);
    } else {
      served.set(name, establish(store, crd, previous));
    }
  });
  store.addAdmission(CRD_GVR, (op, obj) => {
    if (op === 'CREATE')
      obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), CLEANUP_FINALIZER])];
  });
  const off = store.onChange((c) => {
    if (c.resource !== 'apiextensions.k8s.io/customresourcedefinitions') return;
    queue.add(
      c.obj.metadata.name,
      c.type === 'ADDED' ? (opts.establishDelayMs ?? opts.timing.delay('crdEstablish')) : 0,
    );
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}

/**
 * A deleted CRD: Terminating, its objects deleted, then its types unregistered, `forget` called and
 * the finalizer removed ('done'). While objects remain: 'requeue' when this pass saw some, else 'waiting'.
 */
function finalize(
  store: MemStore,
  crd: KubeObject,
  previous: ResourceType[],
  forget: () => void,
): 'waiting' | 'requeue' | 'done' {
  const name = crd.metadata.name;
  if (crd.status?.conditions?.find((c: { type: string }) => c.type === 'Terminating')?.status !== 'True') {
    store.mutate(
      CRD_GVR,
      undefined,
      name,
      (o) => {
        o.status.conditions = [
          ...(o.status.conditions ?? []).filter((c: { type: string }) => c.type !== 'Terminating'),
          condition('Terminating', 'True', 'InstanceDeletionInProgress', 'CustomResource deletion is in progress'),
        ];
      },
      { status: true },
    );
  }
  let left = 0;
  for (const t of previous.slice(0, 1)) {
    for (const o of store.list(gvrKey(t)).items) {
      left++;
      if (o.metadata.deletionTimestamp) continue;
      try {
        store.delete(gvrKey(t), o.metadata.namespace, o.metadata.name);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
  }
  const remaining = previous.slice(0, 1).reduce((n, t) => n + store.list(gvrKey(t)).items.length, 0);
  if (remaining > 0) return left ? 'requeue' : 'waiting';
  for (const t of previous) {
    store.unregisterType(gvrKey(t));
    store.purge(t);
  }
  forget();
  store.mutate(CRD_GVR, undefined, name, (o) => {
    o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== CLEANUP_FINALIZER);
  });
  return 'done';
}

/** Serves the CRD's versions and reports it NamesAccepted and Established. */
function establish(store: MemStore, crd: KubeObject, previous: ResourceType[]): ResourceType[] {
  const types = crdTypes(crd);
  for (const t of previous) if (!types.some((n) => gvrKey(n) === gvrKey(t))) store.unregisterType(gvrKey(t));
  for (const t of types) store.registerType(t);
  const storageVersion = crd.spec.versions.find((v: { storage?: boolean }) => v.storage)?.name;
  store.mutate(
    CRD_GVR,
    undefined,
    crd.metadata.name,
    (o) => {
      const conds = (o.status?.conditions ?? []) as { type: string; status: string }[];
      const keep = (type: string, fresh: ReturnType<typeof condition>) => {
        const old = conds.find((c) => c.type === type);
        return old && old.status === fresh.status ? old : fresh;
      };
      const established = 'the initial names have been accepted';
      o.status = {
        ...o.status,
        conditions: [
          keep('NamesAccepted', condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found')),
          keep('Established', condition('Established', 'True', 'InitialNamesAccepted', established)),
        ],
        acceptedNames: { ...o.spec.names },
        storedVersions: [...new Set([...(o.status?.storedVersions ?? []), storageVersion])],
      };
    },
    { status: true },
  );
  return types;
}
