// Garbage collector: deletes dependents whose owners are all gone (background), drives
// foreground deletion (dependents first; the owner's `foregroundDeletion` finalizer is
// removed once no dependent with blockOwnerDeletion remains) and drops dangling refs.
import { ApiError, type KubeObject } from '../../types.js';
import { gvrKey } from '../builtins.js';
import type { MemStore } from '../store.js';
import type { Timing } from '../../timing.js';
import { ReconcileQueue } from './queue.js';

interface Ref {
  gvr: string;
  namespace?: string;
  name: string;
}

export function startGarbageCollector(store: MemStore, timing: Timing): { stop(): void } {
  const byUid = new Map<string, Ref>();
  for (const { gvr, obj } of store.all())
    byUid.set(obj.metadata.uid!, { gvr, namespace: obj.metadata.namespace, name: obj.metadata.name });
  // Key: a uid. Reconciles both "owner is gone" and "owner is deleting in foreground".
  const queue = new ReconcileQueue('garbage-collector', (uid) => collect(store, byUid, uid));
  const off = store.onChange((c) => {
    const o = c.obj;
    const uid = o.metadata.uid!;
    const rt = store.types().find((t) => `${t.group}/${t.plural}` === c.resource);
    if (c.type === 'DELETED') {
      byUid.delete(uid);
      queue.add(uid, timing.delay('garbageCollect'));
    } else {
      if (rt) byUid.set(uid, { gvr: gvrKey(rt), namespace: o.metadata.namespace, name: o.metadata.name });
      if (o.metadata.deletionTimestamp && o.metadata.finalizers?.includes('foregroundDeletion'))
        queue.add(uid, timing.delay('garbageCollect'));
    }
    // Owners waiting on this dependent, or owners that never existed / are already gone.
    for (const r of o.metadata.ownerReferences ?? []) {
      if (c.type === 'DELETED' || !byUid.has(r.uid))
        queue.add(r.uid, c.type === 'ADDED' ? 50 : timing.delay('garbageCollect'));
    }
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}

const dependentsOf = (store: MemStore, uid: string) =>
  [...store.all()].filter(({ obj }) => obj.metadata.ownerReferences?.some((r) => r.uid === uid));

function tryDelete(store: MemStore, gvr: string, o: KubeObject, propagationPolicy: 'Background' | 'Foreground') {
  try {
    store.delete(gvr, o.metadata.namespace, o.metadata.name, { propagationPolicy });
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 404)) throw e;
  }
}

function collect(store: MemStore, byUid: Map<string, Ref>, uid: string): void {
  const ownerRef = byUid.get(uid);
  const owner = ownerRef && store.get(ownerRef.gvr, ownerRef.namespace, ownerRef.name);
  const deps = dependentsOf(store, uid);
  if (!owner || owner.metadata.uid !== uid) {
    // The owner is gone: dependents with no other live owner go, the others drop the reference.
    for (const { gvr, obj } of deps) {
      const live = obj.metadata.ownerReferences!.filter((r) => r.uid !== uid && byUid.has(r.uid));
      if (live.length === 0) {
        if (!obj.metadata.deletionTimestamp) tryDelete(store, gvr, obj, 'Background');
      } else {
        store.mutate(gvr, obj.metadata.namespace, obj.metadata.name, (o) => {
          o.metadata.ownerReferences = o.metadata.ownerReferences!.filter((r) => r.uid !== uid);
        });
      }
    }
    return;
  }
  if (!owner.metadata.deletionTimestamp || !owner.metadata.finalizers?.includes('foregroundDeletion')) return;
  for (const { gvr, obj } of deps) if (!obj.metadata.deletionTimestamp) tryDelete(store, gvr, obj, 'Foreground');
  const blocking = dependentsOf(store, uid).filter(({ obj }) =>
    obj.metadata.ownerReferences!.some((r) => r.uid === uid && r.blockOwnerDeletion),
  );
  if (blocking.length === 0) {
    store.mutate(ownerRef.gvr, ownerRef.namespace, ownerRef.name, (o) => {
      o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== 'foregroundDeletion');
    });
  }
}
