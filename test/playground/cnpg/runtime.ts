// The container runtime for CNPG's pods (`/controller/manager instance ...`), registered with the
// playground node (apiserver/controllers/runtimes.ts): instance pods (`instance run`) go to the
// instance manager, bootstrap Job pods (`instance init|restore|join`) to instance-commands.ts, and
// instance pods whose `bootstrap-instance` init container has not completed (in-pod bootstrap) to
// bootstrap-inpod.ts first. A new pod reaches them only once the node has its images (the kubelet pulls before it
// creates containers: apiserver/controllers/images.ts).
import type { ContainerRuntimes } from '../apiserver/controllers/runtimes.js';
import type { KubeObject, Store } from '../types.js';
import { commandRole } from './bootstrap-jobs.js';
import { runInitdb, runJoin } from './bootstrap-initdb.js';
import { runFullRecovery } from './bootstrap-recovery.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER } from './context.js';
import { InstanceCommands, type CommandWork } from './instance-commands.js';
import { BootstrapInitContainers, bootstrapPending } from './bootstrap-inpod.js';
import { InstanceManager } from './instance-manager.js';

export const isManagerPod = (pod: KubeObject) => pod.spec?.containers?.[0]?.command?.[0] === '/controller/manager';

export interface CnpgRuntime {
  instances: InstanceManager;
  commands: InstanceCommands;
  onPod(pod: KubeObject, deleted: boolean): void;
  stop(): Promise<void>;
}

function commandWork(ctx: Ctx, instances: InstanceManager): CommandWork {
  return async (role, cluster, io) => {
    const fail = ctx.settings.failBootstrap;
    if (fail && fail.cluster.test(cluster.metadata.name) && (!fail.role || fail.role === role))
      throw new Error(fail.message);
    if (role === 'initdb') return runInitdb(ctx, cluster, io);
    if (role === 'full-recovery') return runFullRecovery(ctx, cluster, io);
    const primary = instances.instance(cluster.metadata.namespace!, cluster.status?.currentPrimary ?? '');
    if (!primary) throw new Error(`primary ${cluster.status?.currentPrimary} is not ready`);
    return runJoin(io, primary);
  };
}

/**
 * Holds a new pod back from the runtime until the node has its images: the first event of a Pending pod starts the
 * pull, whose end hands the pod (as it is then) on. A pod already past Pending (the operator restarted) is not held.
 */
function imageGate(ctx: Ctx, runtimes: ContainerRuntimes, dispatch: (pod: KubeObject, deleted: boolean) => void) {
  const state = new Map<string, boolean>(); // uid -> pulled (false while pulling)
  const uid = (pod: KubeObject) => pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
  return {
    ready(pod: KubeObject): boolean {
      const done = state.get(uid(pod));
      if (done !== undefined) return done;
      if ((pod.status?.phase ?? 'Pending') !== 'Pending' || pod.status?.containerStatuses?.length) return true;
      state.set(uid(pod), false);
      void runtimes.images
        .ensure(pod)
        .then((r) => {
          const current = ctx.store.get(GVR.pod, pod.metadata.namespace, pod.metadata.name);
          if (!r.ok || ctx.stopping || !current || current.metadata.uid !== pod.metadata.uid) return;
          state.set(uid(pod), true);
          if (!current.metadata.deletionTimestamp) dispatch(current, false);
        })
        .catch(() => state.delete(uid(pod)));
      return false;
    },
    forget(pod: KubeObject): void {
      state.delete(uid(pod));
    },
  };
}

export function startRuntime(ctx: Ctx, store: Store, runtimes: ContainerRuntimes): CnpgRuntime {
  // The runtime holds a pod while its processes stop (the kubelet's grace period).
  store.addAdmission(GVR.pod, (op, obj) => {
    if (op === 'CREATE' && isManagerPod(obj) && !obj.metadata.finalizers?.includes(KUBELET_FINALIZER))
      obj.metadata.finalizers = [...(obj.metadata.finalizers ?? []), KUBELET_FINALIZER];
  });
  const unregister = runtimes.register({ name: 'cnpg-instance-manager', runs: isManagerPod });
  const instances = new InstanceManager(ctx);
  const commands = new InstanceCommands(ctx, commandWork(ctx, instances));
  const inits = new BootstrapInitContainers(ctx, commandWork(ctx, instances));
  const dispatch = (pod: KubeObject, deleted: boolean) => {
    if (commandRole(pod)) return commands.onPod(pod, deleted);
    if (deleted || pod.metadata.deletionTimestamp)
      return inits.holds(pod) ? inits.onPod(pod, deleted) : instances.onPod(pod, deleted);
    if (bootstrapPending(pod)) inits.onPod(pod, false);
    else instances.onPod(pod, false);
  };
  const pulls = imageGate(ctx, runtimes, dispatch);
  return {
    instances,
    commands,
    onPod(pod, deleted) {
      if (!isManagerPod(pod)) return;
      if (deleted || pod.metadata.deletionTimestamp || pulls.ready(pod)) dispatch(pod, deleted);
      if (deleted) pulls.forget(pod);
    },
    async stop() {
      unregister();
      await commands.stop();
      await inits.stop();
      await instances.stop();
    },
  };
}
