// Backup inventory and archiving health, judged before anything is created: a drill without a
// completed backup, with a stale newest backup, or with failing WAL archiving fails early with
// that reason (a restore would only prove the obvious, slowly).
import type { KubeClients } from '../kube/client.js';
import { listBackups } from '../cnpg/api.js';
import { condition } from '../cnpg/health.js';
import { BackupPhase, type Backup, type Cluster } from '../cnpg/types.js';
import { detectBackupMode } from './live-spec.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { formatDuration } from '../report/format.js';
import type { RetryOptions } from '../kube/retry.js';

export interface BackupRow {
  name: string;
  phase: string;
  method: string;
  /** Plugin backups: the plugin that took it (spec.pluginConfiguration.name). */
  plugin?: string;
  backupId?: string;
  startedAt?: string;
  stoppedAt?: string;
  /** Where the base backup's WAL ends (recovery targets choose a backup by it). */
  endLSN?: string;
  error?: string;
}

export interface ArchiverStats {
  archivedCount: number;
  lastArchivedWal?: string;
  lastArchivedTime?: string;
  failedCount: number;
  lastFailedWal?: string;
  lastFailedTime?: string;
  /** The database's now() when read (ages are computed against it, not the runner clock). */
  now: string;
}

export interface Inventory {
  backups: BackupRow[];
  /** The newest completed backup the recovery can restore (from the archive the drill reads). */
  newest?: BackupRow;
  /** Completed backups the drill cannot restore from, with why (volume snapshots, other archives). */
  skipped?: { name: string; why: string }[];
  newestAgeMs?: number;
  archiving: {
    condition?: { status: string; reason?: string; message?: string };
    archiver?: ArchiverStats;
    lastArchivedAgeMs?: number;
    failing: boolean;
  };
  /** Reasons the drill must not proceed. */
  problems: string[];
}

export function backupRow(b: Backup): BackupRow {
  return {
    name: b.metadata.name,
    phase: b.status?.phase ?? 'pending',
    method: b.status?.method ?? b.spec.method ?? 'barmanObjectStore',
    ...(b.spec.pluginConfiguration?.name ? { plugin: b.spec.pluginConfiguration.name } : {}),
    backupId: b.status?.backupId,
    startedAt: b.status?.startedAt,
    stoppedAt: b.status?.stoppedAt,
    endLSN: b.status?.endLSN,
    error: b.status?.error,
  };
}

export async function readArchiver(db: ReadOnlyDb): Promise<ArchiverStats> {
  const [r] = await db.query<Record<string, unknown>>(
    `SELECT archived_count, last_archived_wal, last_archived_time, failed_count, ` +
      `last_failed_wal, last_failed_time, now() AS now FROM pg_stat_archiver`,
  );
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v ? String(v) : undefined);
  return {
    archivedCount: Number(r.archived_count ?? 0),
    lastArchivedWal: (r.last_archived_wal as string) ?? undefined,
    lastArchivedTime: iso(r.last_archived_time),
    failedCount: Number(r.failed_count ?? 0),
    lastFailedWal: (r.last_failed_wal as string) ?? undefined,
    lastFailedTime: iso(r.last_failed_time),
    now: iso(r.now)!,
  };
}

export async function listBackupRows(
  clients: KubeClients,
  namespace: string,
  cluster: string,
  retry?: RetryOptions,
): Promise<BackupRow[]> {
  return (await listBackups(clients, namespace, cluster, retry)).map(backupRow);
}

/** Judges the inventory. `archiver` is undefined when it could not be read (reported, not fatal). */
export function assessInventory(
  rows: BackupRow[],
  cluster: Cluster,
  archiver: ArchiverStats | undefined,
  opts: { now: Date; maxBackupAgeMs: number },
): Inventory {
  const problems: string[] = [];
  const { completed, skipped } = restorableCompleted(rows, cluster);
  const newest = completed[0];
  const newestAgeMs = judgeNewest(rows, newest, skipped, opts, problems);
  const archiving = judgeArchiving(cluster, archiver, problems);
  return { backups: rows, newest, skipped, newestAgeMs, archiving, problems };
}

/** Completed backups the drill can restore, newest first, and the completed ones it cannot, with why. */
function restorableCompleted(
  rows: BackupRow[],
  cluster: Cluster,
): { completed: BackupRow[]; skipped: NonNullable<Inventory['skipped']> } {
  const skipped: NonNullable<Inventory['skipped']> = [];
  const completed = rows
    .filter((b) => b.phase === BackupPhase.completed)
    .filter((b) => {
      const why = notRestorable(b, cluster);
      if (why) skipped.push({ name: b.name, why });
      return !why;
    })
    .sort((a, b) => backupTime(b) - backupTime(a));
  return { completed, skipped };
}

/** When a backup finished (else started); 0 when neither parses. */
function backupTime(b: BackupRow): number {
  return Date.parse(b.stoppedAt ?? b.startedAt ?? '') || 0;
}

/** The newest restorable backup's age; a problem when there is none or it is too old. */
function judgeNewest(
  rows: BackupRow[],
  newest: BackupRow | undefined,
  skipped: NonNullable<Inventory['skipped']>,
  opts: { now: Date; maxBackupAgeMs: number },
  problems: string[],
): number | undefined {
  if (!newest) {
    const failed = rows.filter((b) => b.phase === BackupPhase.failed || b.phase === BackupPhase.walArchivingFailing);
    const skippedText = skipped.length
      ? `; not restorable from the archive: ${skipped.map((x) => `${x.name} (${x.why})`).join(', ')}`
      : '';
    const latestFailure = failed.length
      ? `, latest failure ${failed[0].name}: ${failed[0].error ?? failed[0].phase}`
      : '';
    problems.push(`no completed backup: ${rows.length} Backup(s) found${latestFailure}${skippedText}`);
    return undefined;
  }
  const newestAgeMs = opts.now.getTime() - backupTime(newest);
  if (newestAgeMs > opts.maxBackupAgeMs) {
    problems.push(
      `newest completed backup ${newest.name} is ${formatDuration(newestAgeMs)} old, ` +
        `older than max-backup-age ${formatDuration(opts.maxBackupAgeMs)}`,
    );
  }
  return newestAgeMs;
}

/** WAL archiving is failing when the ContinuousArchiving condition is False or pg_stat_archiver last failed. */
function judgeArchiving(
  cluster: Cluster,
  archiver: ArchiverStats | undefined,
  problems: string[],
): Inventory['archiving'] {
  const cond = condition(cluster.status?.conditions, 'ContinuousArchiving');
  let failing = false;
  if (cond?.status === 'False') {
    failing = true;
    problems.push(
      `WAL archiving is failing: condition ContinuousArchiving=False ` +
        `(${cond.reason ?? ''}${cond.message ? `: ${cond.message}` : ''})`,
    );
  }
  let lastArchivedAgeMs: number | undefined;
  if (archiver) {
    const now = Date.parse(archiver.now);
    const okAt = Date.parse(archiver.lastArchivedTime ?? '') || 0;
    const failAt = Date.parse(archiver.lastFailedTime ?? '') || 0;
    if (okAt) lastArchivedAgeMs = now - okAt;
    if (failAt > okAt) {
      // Already reported through the condition: one problem, not two.
      if (!failing) problems.push(describeArchiverFailure(archiver));
      failing = true;
    }
  }
  return {
    condition: cond && { status: cond.status, reason: cond.reason, message: cond.message },
    archiver,
    lastArchivedAgeMs,
    failing,
  };
}

function describeArchiverFailure(archiver: ArchiverStats): string {
  const lastSuccess = archiver.lastArchivedWal
    ? ` (${archiver.lastArchivedWal} at ${archiver.lastArchivedTime})`
    : ' (none yet)';
  return (
    `WAL archiving is failing: pg_stat_archiver last failed ${archiver.lastFailedWal ?? ''} at ${archiver.lastFailedTime} ` +
    `after the last success${lastSuccess}, ${archiver.failedCount} failures in total`
  );
}

/**
 * Why a completed Backup cannot seed this drill's recovery, or undefined when it can. The drill
 * restores from the object store the live cluster archives to, so only backups in that store
 * count: a volumeSnapshot Backup lives in VolumeSnapshots and its backupId is its own name
 * (CONFORMANCE.md section 7), which barman cannot find; in-tree and plugin archives differ.
 */
export function notRestorable(b: BackupRow, cluster: Cluster): string | undefined {
  if (b.method === 'volumeSnapshot') return 'a volume snapshot, not in the object store';
  let mode: ReturnType<typeof detectBackupMode> | undefined;
  try {
    mode = detectBackupMode(cluster);
  } catch {
    return undefined; // no archive configured: reported by the live-spec check
  }
  if (mode.mode === 'plugin') {
    if (b.method !== 'plugin')
      return `method ${b.method}, while the cluster archives through plugin ${mode.pluginName}`;
    if (b.plugin && b.plugin !== mode.pluginName) return `taken by plugin ${b.plugin}, not ${mode.pluginName}`;
  } else if (b.method !== 'barmanObjectStore') {
    return `method ${b.method}, while the cluster archives to spec.backup.barmanObjectStore`;
  }
  if (!b.backupId) return 'no status.backupId';
  return undefined;
}
