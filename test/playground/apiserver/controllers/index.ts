// The built-in controllers the playground runs in-process on the store (what
// kube-controller-manager and a kubelet would do for generic workloads).
import type { PodLogs, PodNetwork } from '../../types.js';
import type { MemStore } from '../store.js';
import { startCrdController } from './crds.js';
import { startDeploymentController } from './deployments.js';
import { startEndpointsController } from './endpoints.js';
import { startGarbageCollector } from './gc.js';
import { startJobController } from './jobs.js';
import { startKubelet } from './kubelet.js';
import { startNamespaceController } from './namespaces.js';
import { startReplicaSetController } from './replicasets.js';
import { startVolumeController } from './volumes.js';
import { ContainerRuntimes } from './runtimes.js';
import { NodeImages } from './images.js';
import { createTiming, type Timing } from '../../timing.js';

export interface Controllers {
  /** Where emulators register the runtimes that execute their own pods. */
  runtimes: ContainerRuntimes;
  stop(): void;
}

export function startControllers(
  store: MemStore,
  opts: {
    dataDir: string;
    logs: PodLogs;
    network: PodNetwork;
    timeScale?: number;
    volumeDeleteDelayMs?: number;
    timing?: Timing;
  },
): Controllers {
  const timing = opts.timing ?? createTiming({ mode: 'fixed' });
  const runtimes = new ContainerRuntimes(new NodeImages(store, timing));
  const all = [
    startNamespaceController(store, timing),
    startGarbageCollector(store, timing),
    startCrdController(store, { timing }),
    startVolumeController(store, { dataDir: opts.dataDir, deleteDelayMs: opts.volumeDeleteDelayMs, timing }),
    startReplicaSetController(store, timing),
    startDeploymentController(store, timing),
    startJobController(store, { timing, ...(opts.timeScale === undefined ? {} : { timeScale: opts.timeScale }) }),
    startKubelet(store, opts.logs, runtimes, { timing }),
    startEndpointsController(store, opts.network, timing),
  ];
  return {
    runtimes,
    stop() {
      for (const c of all) c.stop();
    },
  };
}
