// The recovery window every report shows: from the first recoverability point (the oldest base
// backup still in the archive) to the last successful backup, as the operator publishes it:
// in-tree on the Cluster's status, in plugin mode on the ObjectStore's
// status.serverRecoveryWindow[<server name>]. Base backups are listed with their method; a
// volumeSnapshot backup is listed but never restored by a barman recovery.
import type { Cluster, ObjectStore } from '../cnpg/types.js';
import type { BackupRow } from './inventory.js';
import type { BackupMode } from './live-spec.js';

export interface RecoveryWindow {
  /** Where the figures were read, e.g. "Cluster status" or "ObjectStore pg-store, server pg-main". */
  source: string;
  firstRecoverabilityPoint?: string;
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
  return {
    source: 'Cluster status',
    firstRecoverabilityPoint: s?.firstRecoverabilityPoint,
    lastSuccessfulBackup: s?.lastSuccessfulBackup,
    lastFailedBackup: s?.lastFailedBackup,
    ...base,
  };
}
