// Creating the primary (internal/controller/cluster_create.go): the first reconcile records the
// primary's name (latestGeneratedNode / targetPrimary), then PVC, bootstrap Job (initdb or
// full-recovery), and the instance pod once the Job completed.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, patchStatus } from './context.js';
import { bootstrapMode, surfacesFailedJobs } from './versions.js';
import { ensureJob, jobName, jobState, type JobRole } from './bootstrap-jobs.js';
import { createInstancePod } from './cluster-pods.js';
import { ensurePvc } from './cluster-pvc.js';
import { failedJobReason, INSTANCES_NOT_ACTIVE, PHASE, type Observed, type Progress } from './cluster-state.js';
import { mapImage } from '../../helpers/postgres-install.js';

/**
 * First sight: choose the primary's name once, as CNPG records latestGeneratedNode; and the
 * image the instances run (status.image, resolved by cluster-preflight.ts). Returns the Cluster
 * with that status.
 */
export function initialStatus(ctx: Ctx, cluster: KubeObject, image: string): KubeObject {
  const status = cluster.status ?? {};
  if (status.latestGeneratedNode && status.image === image) return cluster;
  const name = cluster.metadata.name;
  const next = patchStatus(ctx.store, GVR.cluster, cluster, (s) => {
    s.image = image;
    if (s.latestGeneratedNode) return;
    s.latestGeneratedNode = 1;
    s.targetPrimary = `${name}-1`;
    s.phase = PHASE.settingUp;
    s.phaseReason = `Creating primary instance ${name}-1`;
    s.writeService = `${name}-rw`;
    s.readService = `${name}-r`;
    s.instances = 0;
    s.readyInstances = 0;
  });
  if (!status.latestGeneratedNode) {
    // The installed server stands in for the image's major: say so where kubectl shows it.
    const pgNote = mapImage(image).message;
    if (pgNote) ctx.store.recordEvent(cluster, 'Normal', 'PostgresMajorMapped', pgNote);
    if (pgNote)
      ctx.logs.append(cluster.metadata.namespace ?? 'default', `${name}-1`, 'postgres', `operator: ${pgNote}\n`);
  }
  return next ?? cluster;
}

export const bootstrapRole = (cluster: KubeObject): JobRole =>
  cluster.spec?.bootstrap?.recovery ? 'full-recovery' : 'initdb';

/** Whether the primary's data exists (its bootstrap Job completed, or it already ran). */
export function primaryBootstrapped(ctx: Ctx, o: Observed): boolean {
  const job = ctx.store.get(GVR.job, o.ns, jobName(o.primary, bootstrapRole(o.cluster)));
  return jobState(job) === 'complete' || !!o.status.currentPrimary;
}

export function reconcilePrimary(ctx: Ctx, o: Observed, p: Progress, primaryReady: boolean): void {
  if (bootstrapMode(ctx.settings.version) === 'in-pod') return reconcilePrimaryInPod(ctx, o, p, primaryReady);
  const { primary } = o;
  const bootstrapped = primaryBootstrapped(ctx, o);
  if (!bootstrapped) {
    if (!o.pvcs.some((c) => c.metadata.name === primary)) ensurePvc(ctx, o.cluster, primary);
    const job = ensureJob(ctx, o.cluster, primary, bootstrapRole(o.cluster));
    p.phase = PHASE.settingUp;
    p.reason = `Creating primary instance ${primary}`;
    if (jobState(job) === 'failed' && surfacesFailedJobs(ctx.settings.version)) {
      p.phase = PHASE.unrecoverable;
      p.reason = failedJobReason(job.metadata.name);
    }
    return;
  }
  if (!o.podNames.has(primary)) createInstancePod(ctx, o.cluster, primary);
  if (!o.status.currentPrimary && !primaryReady) {
    p.phase = PHASE.settingUp;
    p.reason = `Creating primary instance ${primary}`;
  }
}

/**
 * In-pod bootstrap (PR #11319, internal/controller/cluster_create.go): no Job; the primary's pod
 * carries the `bootstrap-instance` init container. While that pod is Pending (bootstrapping,
 * failing or crash-looping alike) the phase is 'Waiting for the instances to become active'
 * (cluster_controller.go reconcileResources: a Pending pod is not active), never unrecoverable.
 */
function reconcilePrimaryInPod(ctx: Ctx, o: Observed, p: Progress, primaryReady: boolean): void {
  const { primary } = o;
  if (!o.podNames.has(primary)) {
    const bootstrapped = !!o.status.currentPrimary;
    if (!bootstrapped && !o.pvcs.some((c) => c.metadata.name === primary)) ensurePvc(ctx, o.cluster, primary);
    createInstancePod(ctx, o.cluster, primary, bootstrapped ? undefined : bootstrapRole(o.cluster));
    if (!bootstrapped) {
      p.phase = PHASE.settingUp;
      p.reason = `Creating primary instance ${primary}`;
    }
    return;
  }
  if (!o.status.currentPrimary && !primaryReady) {
    p.phase = PHASE.waiting;
    p.reason = INSTANCES_NOT_ACTIVE;
  }
}
