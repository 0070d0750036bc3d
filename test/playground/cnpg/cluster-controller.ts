// The Cluster reconciler (internal/controller/cluster_controller.go): secrets and services, the
// primary, the replicas, volumes, configuration, status, then completed Jobs go; each step lives
// in its cluster-*.ts.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR } from './context.js';
import { cleanupCompletedJobs } from './cluster-cleanup.js';
import { reconcileRoleLabels } from './cluster-metadata.js';
import { initialStatus, reconcilePrimary } from './cluster-create.js';
import { resizePvc } from './cluster-pvc.js';
import { reconcileReplicas } from './cluster-scale.js';
import { ensureSecrets } from './cluster-secrets.js';
import { ensureServices } from './cluster-services.js';
import { observe, registerPhase, type Observed } from './cluster-state.js';
import {
  PHASE_CANNOT_CREATE,
  PHASE_IMAGE_CATALOG,
  PHASE_UNKNOWN_PLUGIN,
  resolveImage,
  unknownPlugin,
  unknownPluginReason,
  checkServiceAccount,
} from './cluster-preflight.js';
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
    const image = this.preflight(cluster);
    if (typeof image !== 'string') return image;
    try {
      ensureSecrets(ctx, cluster);
      ensureServices(ctx, cluster);
      checkServiceAccount(ctx, cluster);
    } catch (err) {
      registerPhase(ctx, cluster, PHASE_CANNOT_CREATE, (err as Error).message);
      throw err; // retried with the queue's back-off, as a reconcile error
    }
    const o = observe(ctx, initialStatus(ctx, cluster, image));
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
    reconcileRoleLabels(ctx, o);
    if (healthy) cleanupCompletedJobs(ctx, o);
    return healthy ? 3000 : 1000;
  }

  /** Plugins and image: the image to run, or what to return (requeue delay, or none: wait for events). */
  private preflight(cluster: KubeObject): string | number | void {
    const plugin = unknownPlugin(this.ctx, cluster);
    if (plugin) {
      registerPhase(this.ctx, cluster, PHASE_UNKNOWN_PLUGIN, unknownPluginReason(plugin));
      return 1000; // upstream requeues after 10s
    }
    const img = resolveImage(this.ctx, cluster);
    if ('image' in img) return img.image;
    if (img.error) registerPhase(this.ctx, cluster, PHASE_IMAGE_CATALOG, img.error);
    return undefined; // catalog events re-run it
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
      this.ctx.logs.append(
        o.ns,
        o.primary,
        'postgres',
        `operator: cannot apply configuration: ${(err as Error).message}\n`,
      );
    }
  }
}
