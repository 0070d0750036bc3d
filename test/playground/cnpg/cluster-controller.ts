// The Cluster reconciler (internal/controller/cluster_controller.go): secrets and services, the
// primary, the replicas, volumes, configuration, status, then completed Jobs go; each step lives
// in its cluster-*.ts.
import type { Ctx } from './context.js';
import { GVR } from './context.js';
import { cleanupCompletedJobs } from './cluster-cleanup.js';
import { initialStatus, reconcilePrimary } from './cluster-create.js';
import { resizePvc } from './cluster-pvc.js';
import { reconcileReplicas } from './cluster-scale.js';
import { ensureSecrets } from './cluster-secrets.js';
import { ensureServices } from './cluster-services.js';
import { observe, type Observed } from './cluster-state.js';
import { primaryFacts, writeStatus } from './cluster-status.js';
import type { InstanceManager } from './instance-manager.js';
import { reconcileManagedRoles } from './managed-roles.js';
import { quantityBytes } from './webhook-errors.js';

export { PHASE } from './cluster-state.js';

export class ClusterController {
  private readonly appliedGeneration = new Map<string, number>();

  constructor(
    private readonly ctx: Ctx,
    private readonly kubelet: InstanceManager,
  ) {}

  async reconcile(ns: string, name: string): Promise<number | void> {
    const { ctx } = this;
    const cluster = ctx.store.get(GVR.cluster, ns, name);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    ensureSecrets(ctx, cluster);
    ensureServices(ctx, cluster);
    const o = observe(ctx, cluster, initialStatus(ctx, cluster));
    const p = { phase: undefined, reason: '', latestNode: o.status.latestGeneratedNode ?? 1 };
    const primaryReady = this.kubelet.isReady(ns, o.primary);
    reconcilePrimary(ctx, o, p, primaryReady);
    reconcileReplicas(ctx, o, p, primaryReady);
    for (const pvc of o.pvcs) resizePvc(ctx, cluster, pvc, quantityBytes);
    await this.applyConfiguration(o);
    const primary = this.kubelet.instance(ns, o.primary);
    const facts = primary ? await primaryFacts(primary).catch(() => undefined) : undefined;
    if (primary) await reconcileManagedRoles(ctx, cluster, primary).catch(() => undefined);
    const healthy = writeStatus(ctx, o, p, this.kubelet, facts);
    if (healthy) cleanupCompletedJobs(ctx, o);
    return healthy ? 3000 : 1000;
  }

  /** A new generation of the spec reaches running instances (reload, or restart when needed). */
  private async applyConfiguration(o: Observed): Promise<void> {
    const gen = o.cluster.metadata.generation ?? 0;
    const k = `${o.ns}/${o.name}`;
    if (this.appliedGeneration.get(k) === gen) return;
    try {
      for (const pod of o.podNames) await this.kubelet.reconfigure(o.ns, pod, o.cluster);
      this.appliedGeneration.set(k, gen);
    } catch (err) {
      this.ctx.logs.append(o.ns, o.primary, 'postgres', `operator: cannot apply configuration: ${(err as Error).message}\n`);
    }
  }
}
