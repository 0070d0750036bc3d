// The built-in controllers the playground runs in-process on the store (what
// kube-controller-manager and a kubelet would do for generic workloads).
import type { PodLogs } from '../../types.js';
import type { MemStore } from '../store.js';
import { startCrdController } from './crds.js';
import { startDeploymentController } from './deployments.js';
import { startGarbageCollector } from './gc.js';
import { startJobController } from './jobs.js';
import { startKubelet } from './kubelet.js';
import { startNamespaceController } from './namespaces.js';
import { startReplicaSetController } from './replicasets.js';
import { startVolumeController } from './volumes.js';

export interface Controllers {
  stop(): void;
}

export function startControllers(store: MemStore, opts: { dataDir: string; logs: PodLogs }): Controllers {
  const all = [
    startNamespaceController(store),
    startGarbageCollector(store),
    startCrdController(store),
    startVolumeController(store, { dataDir: opts.dataDir }),
    startReplicaSetController(store),
    startDeploymentController(store),
    startJobController(store),
    startKubelet(store, opts.logs),
  ];
  return {
    stop() {
      for (const c of all) c.stop();
    },
  };
}
