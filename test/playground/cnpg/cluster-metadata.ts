// Role labels once the primary is known (pkg/reconciler/instance/metadata.go and
// persistentvolumeclaim/metadata.go): active instance pods and their PVCs get `role` and
// `cnpg.io/instanceRole` = primary for status.currentPrimary, replica for the others. Pods are
// created without them, so the -rw / -ro Services select an instance only from then on.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, mutateQuiet, NoChange } from './context.js';
import { instancePods } from './cluster-pods.js';
import type { Observed } from './cluster-state.js';

function setRole(ctx: Ctx, gvr: string, o: KubeObject, role: string): void {
  if (o.metadata.labels?.role === role && o.metadata.labels?.[L.instanceRole] === role) return;
  mutateQuiet(ctx.store, gvr, o.metadata.namespace, o.metadata.name, (x) => {
    if (x.metadata.labels?.role === role && x.metadata.labels?.[L.instanceRole] === role) throw new NoChange();
    x.metadata.labels = { ...x.metadata.labels, role, [L.instanceRole]: role };
  });
}

export function reconcileRoleLabels(ctx: Ctx, o: Observed): void {
  const current: string | undefined = ctx.store.get(GVR.cluster, o.ns, o.name)?.status?.currentPrimary;
  if (!current) return;
  const roleOf = (name: string) => (name === current ? 'primary' : 'replica');
  for (const pod of instancePods(ctx, o.cluster)) {
    const active = !pod.metadata.deletionTimestamp && pod.status?.phase === 'Running';
    if (active) setRole(ctx, GVR.pod, pod, roleOf(pod.metadata.name));
  }
  for (const pvc of o.pvcs) setRole(ctx, GVR.pvc, pvc, roleOf(pvc.metadata.name));
}
