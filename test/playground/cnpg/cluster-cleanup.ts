// cleanupCompletedJobs (internal/controller/cluster_cleanup.go, called at the end of
// reconcileResources in cluster_controller.go, 1.25.0..1.30.x): once every instance reports,
// completed bootstrap Jobs are deleted with Foreground propagation, so their pods and their logs
// go too. A Job still failing or running is kept.
import type { Ctx } from './context.js';
import { GVR, L } from './context.js';
import { jobState } from './bootstrap-jobs.js';
import type { Observed } from './cluster-state.js';

export function cleanupCompletedJobs(ctx: Ctx, o: Observed): void {
  for (const job of ctx.store.list(GVR.job, o.ns, { labelSelector: `${L.cluster}=${o.name}` }).items) {
    if (job.metadata.deletionTimestamp || jobState(job) !== 'complete') continue;
    ctx.store.delete(GVR.job, o.ns, job.metadata.name, { propagationPolicy: 'Foreground' });
  }
}
