// What one Cluster reconcile observes and what it decides, passed between the cluster_* steps.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, patchStatus, setCondition } from './context.js';
import { instancePods } from './cluster-pods.js';

export const PHASE = {
  settingUp: 'Setting up primary',
  newReplica: 'Creating a new replica',
  healthy: 'Cluster in healthy state',
  waiting: 'Waiting for the instances to become active',
  unrecoverable: 'Cluster is unrecoverable and needs manual intervention',
} as const;

export interface Observed {
  cluster: KubeObject;
  ns: string;
  name: string;
  status: Record<string, any>;
  /** The instance CNPG chose as primary (status.targetPrimary). */
  primary: string;
  desired: number;
  /** PG_DATA claims of the cluster. */
  pvcs: KubeObject[];
  podNames: Set<string>;
}

/** The phase this reconcile reports; the first step that sets it wins unless a later one must override. */
export interface Progress {
  phase?: string;
  reason: string;
  latestNode: number;
}

export function observe(ctx: Ctx, cluster: KubeObject): Observed {
  const status = cluster.status ?? {};
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name;
  const pvcs = ctx.store
    .list(GVR.pvc, ns, { labelSelector: `${L.cluster}=${name}` })
    .items.filter((p) => p.metadata.labels?.[L.pvcRole] === 'PG_DATA');
  const podNames = new Set(instancePods(ctx, cluster).map((p) => p.metadata.name));
  return {
    cluster,
    ns,
    name,
    status,
    primary: status.targetPrimary,
    desired: cluster.spec?.instances ?? 1,
    pvcs,
    podNames,
  };
}

/** The reason CNPG registers with PHASE.waiting while an instance pod is not active (Pending). */
export const INSTANCES_NOT_ACTIVE = 'Some instances are not yet active. Please wait.';

export const failedJobReason = (job: string) =>
  `Instance creation failed for the following jobs: ${job}. Check the job logs to investigate the cause of the failure.`;

/** RegisterPhase: the phase and its reason, and Ready False while not healthy. */
export function registerPhase(ctx: Ctx, cluster: KubeObject, phase: string, reason: string): void {
  patchStatus(ctx.store, GVR.cluster, cluster, (s) => {
    s.phase = phase;
    s.phaseReason = reason;
    setCondition(s, { type: 'Ready', status: 'False', reason: 'ClusterIsNotReady', message: 'Cluster Is Not Ready' });
  });
}
