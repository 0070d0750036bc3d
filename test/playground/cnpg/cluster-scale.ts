// Replicas (internal/controller/cluster_create.go join path, cluster_scale.go): new instances
// get the next serial, a PVC and a join Job cloning the running primary; an instance whose pod
// existed once is recreated without a new join; scaling down removes the highest serials first.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR } from './context.js';
import { bootstrapMode, surfacesFailedJobs } from './versions.js';
import { ensureJob, jobName, jobState } from './bootstrap-jobs.js';
import { createInstancePod, serial } from './cluster-pods.js';
import { ensurePvc } from './cluster-pvc.js';
import { failedJobReason, PHASE, type Observed, type Progress } from './cluster-state.js';

/** A replica whose pod existed once (so its data is there) is recreated without a new join. */
const hadPod = (cluster: KubeObject, inst: string) => (cluster.status?.instanceNames ?? []).includes(inst);

/** Claims of the replicas, by serial, with new ones created up to spec.instances. */
function replicaClaims(ctx: Ctx, o: Observed, p: Progress): string[] {
  const names = o.pvcs
    .map((c) => c.metadata.name)
    .filter((n) => n !== o.primary)
    .sort((a, b) => serial(a) - serial(b));
  for (let count = o.pvcs.length; count < o.desired; count++) {
    p.latestNode += 1;
    const inst = `${o.name}-${p.latestNode}`;
    ensurePvc(ctx, o.cluster, inst);
    names.push(inst);
  }
  return names;
}

function reconcileReplica(ctx: Ctx, o: Observed, p: Progress, inst: string): void {
  if (bootstrapMode(ctx.settings.version) === 'in-pod') {
    // In-pod bootstrap: the replica's pod joins in its `bootstrap-instance` init container.
    createInstancePod(ctx, o.cluster, inst, hadPod(o.cluster, inst) ? undefined : 'join');
    p.phase ??= PHASE.newReplica;
    p.reason ||= `Creating replica ${inst}`;
    return;
  }
  const job = ctx.store.get(GVR.job, o.ns, jobName(inst, 'join'));
  const state = jobState(job);
  if (state === 'complete' || (state === 'none' && hadPod(o.cluster, inst))) {
    createInstancePod(ctx, o.cluster, inst);
  } else if (state === 'failed') {
    if (surfacesFailedJobs(ctx.settings.version)) {
      p.phase = PHASE.unrecoverable;
      p.reason = failedJobReason(job!.metadata.name);
    } else p.phase ??= PHASE.newReplica;
  } else {
    if (state === 'none') ensureJob(ctx, o.cluster, inst, 'join');
    p.phase ??= PHASE.newReplica;
    p.reason ||= `Creating replica ${inst}`;
  }
}

function scaleDown(ctx: Ctx, o: Observed, replicas: string[]): void {
  const extra = o.pvcs.length - o.desired;
  if (extra <= 0) return;
  for (const inst of replicas.slice(-extra)) {
    ctx.store.delete(GVR.pod, o.ns, inst);
    ctx.store.delete(GVR.pvc, o.ns, inst);
    const job = ctx.store.get(GVR.job, o.ns, jobName(inst, 'join'));
    if (job) ctx.store.delete(GVR.job, o.ns, job.metadata.name, { propagationPolicy: 'Background' });
  }
}

/** Only from a running primary, like CNPG's join Jobs. */
export function reconcileReplicas(ctx: Ctx, o: Observed, p: Progress, primaryReady: boolean): void {
  if (!primaryReady || !o.status.currentPrimary) return;
  const replicas = replicaClaims(ctx, o, p);
  for (const inst of replicas) if (!o.podNames.has(inst)) reconcileReplica(ctx, o, p, inst);
  scaleDown(
    ctx,
    o,
    replicas.filter((n) => o.pvcs.some((c) => c.metadata.name === n)),
  );
}
