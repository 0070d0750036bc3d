// Namespace lifecycle: built-in namespaces exist from the start, each namespace gets its
// `default` ServiceAccount, and a deleted namespace (phase Terminating) is emptied before
// it goes away.
import { ApiError } from '../../types.js';
import { gvrKey } from '../builtins.js';
import type { MemStore } from '../store.js';
import { ReconcileQueue } from './queue.js';

export function startNamespaceController(store: MemStore): { stop(): void } {
  const queue = new ReconcileQueue('namespace', (name) => {
    const ns = store.get('v1/namespaces', undefined, name);
    if (!ns) return;
    if (!ns.metadata.deletionTimestamp) {
      if (!store.get('v1/serviceaccounts', name, 'default')) {
        try {
          store.create('v1/serviceaccounts', {
            apiVersion: 'v1',
            kind: 'ServiceAccount',
            metadata: { name: 'default', namespace: name },
          });
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
        }
      }
      return;
    }
    let remaining = 0;
    for (const rt of store.types().filter((t) => t.namespaced)) {
      for (const o of store.list(gvrKey(rt), name).items) {
        remaining++;
        if (!o.metadata.deletionTimestamp) {
          try {
            store.delete(gvrKey(rt), name, o.metadata.name);
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
      }
    }
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
      if (c.type !== 'DELETED') queue.add(c.obj.metadata.name);
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
