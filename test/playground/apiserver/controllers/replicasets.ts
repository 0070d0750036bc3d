// ReplicaSet controller: keeps `spec.replicas` pods from the template (skipping pods it
// does not control) and reports replicas / readyReplicas / availableReplicas.
import type { KubeObject } from '../../types.js';
import { randomSuffix, type MemStore } from '../store.js';
import { controlledBy, controllerOf, controllerRef, podReady } from './owners.js';
import type { Timing } from '../../timing.js';
import { nsName, ReconcileQueue, splitKey } from './queue.js';

const RS = 'apps/v1/replicasets';

export function startReplicaSetController(store: MemStore, timing: Timing): { stop(): void } {
  const queue = new ReconcileQueue('replicaset', (key) => {
    const [ns, name] = splitKey(key);
    const rs = store.get(RS, ns, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = store.list('v1/pods', ns).items.filter((p) => controlledBy(p, rs) && !p.metadata.deletionTimestamp);
    const want = rs.spec.replicas ?? 1;
    for (let i = pods.length; i < want; i++) {
      const t = rs.spec.template ?? {};
      store.create('v1/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${name}-${randomSuffix()}`,
          namespace: ns,
          labels: { ...t.metadata?.labels },
          annotations: t.metadata?.annotations,
          ownerReferences: [controllerRef(rs)],
        },
        spec: structuredClone(t.spec),
      } as KubeObject);
    }
    // Scale down: not-ready pods first.
    const extra = [...pods]
      .sort((a, b) => Number(podReady(a)) - Number(podReady(b)))
      .slice(0, Math.max(0, pods.length - want));
    for (const p of extra) store.delete('v1/pods', ns, p.metadata.name);
    const live = store.list('v1/pods', ns).items.filter((p) => controlledBy(p, rs) && !p.metadata.deletionTimestamp);
    const ready = live.filter(podReady).length;
    store.mutate(
      RS,
      ns,
      name,
      (o) => {
        o.status = {
          replicas: live.length,
          fullyLabeledReplicas: live.length,
          readyReplicas: ready,
          availableReplicas: ready,
          observedGeneration: o.metadata.generation,
        };
      },
      { status: true },
    );
  });
  const off = store.onChange((c) => {
    if (c.resource === 'apps/replicasets' && c.type !== 'DELETED')
      queue.add(nsName(c.obj.metadata.namespace, c.obj.metadata.name), timing.delay('workload'));
    if (c.resource === '/pods') {
      const ref = controllerOf(c.obj);
      if (ref?.kind === 'ReplicaSet') queue.add(nsName(c.obj.metadata.namespace, ref.name), timing.delay('workload'));
    }
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}
