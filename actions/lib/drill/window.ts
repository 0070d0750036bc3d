// The recovery window every report shows: from the first recoverability point (the oldest base
// backup still in the archive) to the last successful backup, as the operator publishes it:
// in-tree on the Cluster's status, in plugin mode on the ObjectStore's
// status.serverRecoveryWindow[<server name>]. In-tree, the per-method figures
// (status.firstRecoverabilityPointByMethod.barmanObjectStore) are read first: the plain
// firstRecoverabilityPoint is the minimum over every method, volume snapshots included, and is
// deprecated since CNPG 1.27 (test/playground/CONFORMANCE.md, section moment). Base backups are
// listed with their method; a volumeSnapshot backup is listed but never restored by a barman recovery.
import type { Cluster, ObjectStore } from '../cnpg/types.js';
import type { BackupRow } from './inventory.js';
import type { BackupMode } from './live-spec.js';

export interface RecoveryWindow {
  /** Where the figures were read, e.g. "Cluster status" or "ObjectStore pg-store, server pg-main". */
  source: string;
  firstRecoverabilityPoint?: string;
  /** In-tree: the status field the start was read from (per method, or the all-methods fallback). */
  startField?: string;
  lastSuccessfulBackup?: string;
  lastFailedBackup?: string;
  /** Completed backups a barman restore can start from (object store backups), oldest first. */
  restorable: BackupRow[];
  /** Completed volumeSnapshot backups: listed, never chosen for a barman restore. */
  snapshots: BackupRow[];
}

const at = (b: BackupRow) => Date.parse(b.stoppedAt ?? b.startedAt ?? '') || 0;

/** A backup a barman-cloud recovery can start from. */
export const barmanRestorable = (b: BackupRow) => b.method !== 'volumeSnapshot';

export function recoveryWindow(
  live: Cluster,
  mode: BackupMode,
  store: ObjectStore | undefined,
  serverName: string,
  backups: BackupRow[],
): RecoveryWindow {
  const completed = backups.filter((b) => b.phase === 'completed').sort((a, b) => at(a) - at(b));
  const base = {
    restorable: completed.filter(barmanRestorable),
    snapshots: completed.filter((b) => !barmanRestorable(b)),
  };
  if (mode === 'plugin') {
    const w = store?.status?.serverRecoveryWindow?.[serverName];
    return {
      source: `ObjectStore ${store?.metadata.name ?? '(unread)'} status.serverRecoveryWindow["${serverName}"]`,
      firstRecoverabilityPoint: w?.firstRecoverabilityPoint,
      lastSuccessfulBackup: w?.lastSuccessfulBackupTime,
      lastFailedBackup: w?.lastFailedBackupTime,
      ...base,
    };
  }
  const s = live.status;
  const first = s?.firstRecoverabilityPointByMethod?.barmanObjectStore;
  const last = s?.lastSuccessfulBackupByMethod?.barmanObjectStore;
  const byMethod = !!s?.firstRecoverabilityPointByMethod;
  return {
    source: 'Cluster status',
    startField: byMethod
      ? 'firstRecoverabilityPointByMethod.barmanObjectStore'
      : 'firstRecoverabilityPoint: every method, no per-method figure published',
    firstRecoverabilityPoint: first ?? (s?.firstRecoverabilityPointByMethod ? undefined : s?.firstRecoverabilityPoint),
    lastSuccessfulBackup: last ?? (s?.lastSuccessfulBackupByMethod ? undefined : s?.lastSuccessfulBackup),
    lastFailedBackup: s?.lastFailedBackup,
    ...base,
  };
}
