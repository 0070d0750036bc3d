// Namespace lifecycle: built-in namespaces exist from the start, each namespace gets its
// `default` ServiceAccount, and a deleted namespace (phase Terminating) is emptied before
// it goes away.
import { ApiError } from '../../types.js';
import { gvrKey } from '../builtins.js';
import type { MemStore } from '../store.js';
import type { Timing } from '../../timing.js';
import { ReconcileQueue } from './queue.js';

export function startNamespaceController(store: MemStore, timing: Timing): { stop(): void } {
  const queue: ReconcileQueue = new ReconcileQueue('namespace', (name) => {
    const ns = store.get('v1/namespaces', undefined, name);
    if (!ns) return;
    if (!ns.metadata.deletionTimestamp) return ensureDefaultServiceAccount(store, name);
    const remaining = deleteContent(store, name);
    const stillThere = store.types().some((rt) => rt.namespaced && store.list(gvrKey(rt), name).items.length > 0);
    if (!stillThere) store.finalizeNamespace(name);
    else if (remaining) queue.add(name, 200); // content with finalizers: check again
  });

  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!store.get('v1/namespaces', undefined, name))
      store.create('v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      });
    queue.add(name);
  }
  store.addAdmission('v1/namespaces', (_op, obj) => {
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
  });

  const off = store.onChange((c) => {
    if (c.resource === '/namespaces') {
      // A terminating namespace is emptied only after the namespace controller's grace period.
      const wait = c.obj.metadata.deletionTimestamp ? timing.delay('namespaceDelete') : 0;
      if (c.type !== 'DELETED') queue.add(c.obj.metadata.name, wait);
    } else if (c.type === 'DELETED' && c.obj.metadata.namespace) {
      const ns = store.get('v1/namespaces', undefined, c.obj.metadata.namespace);
      if (ns?.metadata.deletionTimestamp) queue.add(ns.metadata.name);
    }
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}

function ensureDefaultServiceAccount(store: MemStore, namespace: string): void {
  if (store.get('v1/serviceaccounts', namespace, 'default')) return;
  try {
    store.create('v1/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace },
    });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}

/** Deletes what a terminating namespace holds; returns how many objects it still held. */
function deleteContent(store: MemStore, namespace: string): number {
  let remaining = 0;
  for (const rt of store.types().filter((t) => t.namespaced)) {
    for (const o of store.list(gvrKey(rt), namespace).items) {
      remaining++;
      if (o.metadata.deletionTimestamp) continue;
      try {
        store.delete(gvrKey(rt), namespace, o.metadata.name);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
  }
  return remaining;
}
