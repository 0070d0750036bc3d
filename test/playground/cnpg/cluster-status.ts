// The Cluster status CNPG reports (internal/controller/cluster_status.go): instances and their
// readiness, current/target primary, phase and Ready condition, timeline and system ID from the
// primary, and ContinuousArchiving from the real pg_stat_archiver.
import type { KubeObject } from '../types.js';
import type { Condition, Ctx } from './context.js';
import { GVR, getCondition, patchStatus, setCondition } from './context.js';
import { instancePods, serial } from './cluster-pods.js';
import { PHASE, type Observed, type Progress } from './cluster-state.js';
import type { InstanceManager } from './instance-manager.js';
import { clusterArchive, ConfigError } from './objectstore.js';
import type { PgInstance } from './postgres.js';

interface Archiver {
  failed_count: string;
  archived_count: string;
  last_archived_time: Date | null;
  last_failed_time: Date | null;
  last_failed_wal: string | null;
  last_archived_wal: string | null;
}
export interface PrimaryFacts {
  timeline: number;
  systemID: string;
  archiver: Archiver;
}

export async function primaryFacts(inst: PgInstance): Promise<PrimaryFacts> {
  const [row] = await inst.query<Archiver & { wal: string; sysid: string }>(
    `SELECT pg_walfile_name(pg_current_wal_lsn()) AS wal, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, a.*
       FROM pg_stat_archiver a`,
  );
  return { timeline: parseInt(row.wal.slice(0, 8), 16), systemID: row.sysid, archiver: row };
}

export function clusterArchiveConfigured(cluster: KubeObject): boolean {
  return (
    !!cluster.spec?.backup?.barmanObjectStore ||
    (cluster.spec?.plugins ?? []).some((p: any) => p.isWALArchiver && p.enabled !== false)
  );
}

/** ContinuousArchiving: failing when the last failure is newer than the last success. */
export function archiveCondition(ctx: Ctx, cluster: KubeObject, a: Archiver | undefined): Condition | undefined {
  if (!a || !clusterArchiveConfigured(cluster)) return undefined;
  try {
    clusterArchive(ctx, cluster);
  } catch (err) {
    if (err instanceof ConfigError)
      return {
        type: 'ContinuousArchiving',
        status: 'False',
        reason: 'ContinuousArchivingFailing',
        message: err.message,
      };
  }
  const failedAt = a.last_failed_time ? new Date(a.last_failed_time).getTime() : 0;
  const okAt = a.last_archived_time ? new Date(a.last_archived_time).getTime() : 0;
  if (Number(a.failed_count) > 0 && failedAt >= okAt) {
    return {
      type: 'ContinuousArchiving',
      status: 'False',
      reason: 'ContinuousArchivingFailing',
      message: `unexpected failure invoking barman-cloud-wal-archive: exit status 1 (WAL ${a.last_failed_wal})`,
    };
  }
  if (Number(a.archived_count) > 0)
    return {
      type: 'ContinuousArchiving',
      status: 'True',
      reason: 'ContinuousArchivingSuccess',
      message: 'Continuous archiving is working',
    };
  return getCondition(cluster, 'ContinuousArchiving');
}

interface Instances {
  names: string[];
  ready: string[];
  notReady: string[];
}

function observeInstances(ctx: Ctx, o: Observed, kubelet: InstanceManager): Instances {
  const live = instancePods(ctx, o.cluster).filter((p) => !p.metadata.deletionTimestamp);
  const names = live.map((p) => p.metadata.name).sort((a, b) => serial(a) - serial(b));
  const ready = names.filter((n) => kubelet.isReady(o.ns, n));
  return { names, ready, notReady: names.filter((n) => !ready.includes(n)) };
}

function finalPhase(o: Observed, p: Progress, i: Instances, primaryReady: boolean): void {
  if (p.phase) return;
  if (!primaryReady && !o.status.currentPrimary) p.phase = PHASE.settingUp;
  else if (i.notReady.length > 0 || i.ready.length < o.desired) {
    p.phase = PHASE.waiting;
    p.reason = i.notReady.length ? `Instance ${i.notReady.join(', ')} is not ready` : 'Waiting for instances';
  } else p.phase = PHASE.healthy;
}

/** Writes the status; returns whether the cluster is healthy. */
export function writeStatus(
  ctx: Ctx,
  o: Observed,
  p: Progress,
  kubelet: InstanceManager,
  facts: PrimaryFacts | undefined,
): boolean {
  const primaryReady = kubelet.isReady(o.ns, o.primary);
  const i = observeInstances(ctx, o, kubelet);
  finalPhase(o, p, i, primaryReady);
  const healthy = p.phase === PHASE.healthy;
  if (ctx.settings.holdStatus?.test(o.name)) return healthy;
  const archive = archiveCondition(ctx, o.cluster, facts?.archiver);
  patchStatus(ctx.store, GVR.cluster, o.cluster, (s) => {
    s.phase = p.phase;
    s.phaseReason = healthy ? '' : p.reason;
    s.latestGeneratedNode = Math.max(p.latestNode, s.latestGeneratedNode ?? 1);
    s.instances = i.names.length;
    s.readyInstances = i.ready.length;
    s.instanceNames = i.names;
    s.instancesStatus = {
      ...(i.ready.length ? { healthy: i.ready } : {}),
      ...(i.notReady.length ? { failed: i.notReady } : {}),
    };
    s.targetPrimary = o.primary;
    if (primaryReady) s.currentPrimary = o.primary;
    s.writeService = `${o.name}-rw`;
    s.readService = `${o.name}-r`;
    s.healthyPVC = o.pvcs.map((c) => c.metadata.name).sort();
    if (facts) {
      s.timelineID = facts.timeline;
      s.systemID = facts.systemID;
    }
    setCondition(
      s,
      healthy
        ? { type: 'Ready', status: 'True', reason: 'ClusterIsReady', message: 'Cluster is Ready' }
        : { type: 'Ready', status: 'False', reason: 'ClusterIsNotReady', message: 'Cluster Is Not Ready' },
    );
    if (archive) setCondition(s, archive);
    else if (!clusterArchiveConfigured(o.cluster))
      s.conditions = (s.conditions ?? []).filter((c: { type: string }) => c.type !== 'ContinuousArchiving');
    if (facts)
      setCondition(s, {
        type: 'ConsistentSystemID',
        status: 'True',
        reason: 'Unique',
        message: 'A single, unique system ID was found across reporting instances.',
      });
  });
  return healthy;
}
