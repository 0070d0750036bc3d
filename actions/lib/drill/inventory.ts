// Backup inventory and archiving health, judged before anything is created: a drill without a
// completed backup, with a stale newest backup, or with failing WAL archiving fails early with
// that reason (a restore would only prove the obvious, slowly).
import type { KubeClients } from '../kube/client.js';
import { listBackups } from '../cnpg/api.js';
import { condition } from '../cnpg/health.js';
import { BackupPhase, type Backup, type Cluster } from '../cnpg/types.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { formatDuration } from '../report/format.js';
import type { RetryOptions } from '../kube/retry.js';
import { barmanRestorable } from './window.js';

export interface BackupRow {
  name: string;
  phase: string;
  method: string;
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
  newest?: BackupRow;
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
    backupId: b.status?.backupId,
    startedAt: b.status?.startedAt,
    stoppedAt: b.status?.stoppedAt,
    endLSN: b.status?.endLSN,
    error: b.status?.error,
  };
}

export async function readArchiver(db: ReadOnlyDb): Promise<ArchiverStats> {
  const [r] = await db.query<Record<string, unknown>>(
    `SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time, now() AS now FROM pg_stat_archiver`,
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

export async function listBackupRows(clients: KubeClients, namespace: string, cluster: string, retry?: RetryOptions): Promise<BackupRow[]> {
  return (await listBackups(clients, namespace, cluster, retry)).map(backupRow);
}

/** Judges the inventory. `archiver` is undefined when it could not be read (reported, not fatal). */
export function assessInventory(rows: BackupRow[], cluster: Cluster, archiver: ArchiverStats | undefined, opts: { now: Date; maxBackupAgeMs: number }): Inventory {
  const problems: string[] = [];
  const completed = rows
    .filter((b) => b.phase === BackupPhase.completed && barmanRestorable(b))
    .sort((a, b) => (Date.parse(b.stoppedAt ?? b.startedAt ?? '') || 0) - (Date.parse(a.stoppedAt ?? a.startedAt ?? '') || 0));
  const newest = completed[0];
  let newestAgeMs: number | undefined;
  if (!newest) {
    const failed = rows.filter((b) => b.phase === BackupPhase.failed || b.phase === BackupPhase.walArchivingFailing);
    problems.push(
      `no completed backup: ${rows.length} Backup(s) found${failed.length ? `, latest failure ${failed[0].name}: ${failed[0].error ?? failed[0].phase}` : ''}`,
    );
  } else {
    newestAgeMs = opts.now.getTime() - (Date.parse(newest.stoppedAt ?? newest.startedAt ?? '') || 0);
    if (newestAgeMs > opts.maxBackupAgeMs) {
      problems.push(`newest completed backup ${newest.name} is ${formatDuration(newestAgeMs)} old, older than max-backup-age ${formatDuration(opts.maxBackupAgeMs)}`);
    }
  }

  const cond = condition(cluster.status?.conditions, 'ContinuousArchiving');
  let failing = false;
  if (cond?.status === 'False') {
    failing = true;
    problems.push(`WAL archiving is failing: condition ContinuousArchiving=False (${cond.reason ?? ''}${cond.message ? `: ${cond.message}` : ''})`);
  }
  let lastArchivedAgeMs: number | undefined;
  if (archiver) {
    const now = Date.parse(archiver.now);
    const okAt = Date.parse(archiver.lastArchivedTime ?? '') || 0;
    const failAt = Date.parse(archiver.lastFailedTime ?? '') || 0;
    if (okAt) lastArchivedAgeMs = now - okAt;
    if (failAt > okAt) {
      if (!failing) {
        problems.push(
          `WAL archiving is failing: pg_stat_archiver last failed ${archiver.lastFailedWal ?? ''} at ${archiver.lastFailedTime} after the last success${archiver.lastArchivedWal ? ` (${archiver.lastArchivedWal} at ${archiver.lastArchivedTime})` : ' (none yet)'}, ${archiver.failedCount} failures in total`,
        );
      }
      failing = true;
    }
  }
  return {
    backups: rows,
    newest,
    newestAgeMs,
    archiving: { condition: cond && { status: cond.status, reason: cond.reason, message: cond.message }, archiver, lastArchivedAgeMs, failing },
    problems,
  };
}
