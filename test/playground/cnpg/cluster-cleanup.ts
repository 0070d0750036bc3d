// cleanupCompletedJobs (internal/controller/cluster_cleanup.go): once every instance reports,
// the Cluster's Jobs with their one completion (status.succeeded == spec.completions) are deleted
// with foreground propagation, so their pods and those pods' logs go too.
import type { Ctx } from './context.js';
import { GVR, L } from './context.js';
import type { Observed } from './cluster-state.js';

export function cleanupCompletedJobs(ctx: Ctx, o: Observed): void {
  const jobs = ctx.store.list(GVR.job, o.ns, { labelSelector: `${L.cluster}=${o.name}` }).items;
  for (const job of jobs) {
    if (job.metadata.deletionTimestamp) continue;
    if (!job.metadata.ownerReferences?.some((r) => r.uid === o.cluster.metadata.uid)) continue;
    if ((job.status?.succeeded ?? 0) !== (job.spec?.completions ?? 1)) continue;
    try {
      ctx.store.delete(GVR.job, o.ns, job.metadata.name, { propagationPolicy: 'Foreground' });
    } catch {
      // upstream logs "cannot delete job" and carries on with the next one
    }
  }
}
