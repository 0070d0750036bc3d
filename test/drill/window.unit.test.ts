// The recovery window in the report: read where each backup mode's operator publishes it, every
// base backup listed, volume snapshots listed but never chosen for a barman restore.
import { describe, expect, it } from 'vitest';
import { assessInventory, type BackupRow } from '../../actions/lib/drill/inventory.js';
import { renderReport } from '../../actions/lib/drill/report.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { recoveryWindow } from '../../actions/lib/drill/window.js';
import type { Cluster, ObjectStore } from '../../actions/lib/cnpg/types.js';

const row = (name: string, method: string, stoppedAt: string, phase = 'completed'): BackupRow => ({
  name,
  phase,
  method,
  backupId: stoppedAt.replace(/[-:]/g, '').slice(0, 15),
  startedAt: stoppedAt,
  stoppedAt,
});
const backups = [
  row('pg-main-weekly-20260104', 'barmanObjectStore', '2026-01-04T01:00:00Z'),
  row('pg-main-snap-20260109', 'volumeSnapshot', '2026-01-09T01:00:00Z'),
  row('pg-main-weekly-20260101', 'barmanObjectStore', '2026-01-01T01:00:00Z'),
  row('pg-main-weekly-20260108', 'barmanObjectStore', '2026-01-08T01:00:00Z', 'failed'),
];
const cluster = {
  metadata: { name: 'pg-main', namespace: 'db' },
  spec: {},
  status: {
    firstRecoverabilityPoint: '2026-01-01T01:00:00Z',
    lastSuccessfulBackup: '2026-01-04T01:00:00Z',
    lastFailedBackup: '2026-01-08T01:00:00Z',
  },
} as unknown as Cluster;
const store = {
  apiVersion: 'barmancloud.cnpg.io/v1',
  kind: 'ObjectStore',
  metadata: { name: 'pg-store', namespace: 'db' },
  spec: { configuration: {} },
  status: {
    serverRecoveryWindow: {
      'pg-main-v2': {
        firstRecoverabilityPoint: '2026-01-01T01:00:05Z',
        lastSuccessfulBackupTime: '2026-01-04T01:00:05Z',
      },
    },
  },
} as unknown as ObjectStore;

describe('recovery window', () => {
  it('in-tree: from the Cluster status; base backups oldest first; snapshots apart', () => {
    const w = recoveryWindow(cluster, 'in-tree', undefined, 'pg-main', backups);
    expect(w).toMatchObject({
      source: 'Cluster status',
      startField: 'firstRecoverabilityPoint: every method, no per-method figure published',
      firstRecoverabilityPoint: '2026-01-01T01:00:00Z',
      lastSuccessfulBackup: '2026-01-04T01:00:00Z',
      lastFailedBackup: '2026-01-08T01:00:00Z',
    });
    expect(w.restorable.map((b) => b.name)).toEqual(['pg-main-weekly-20260101', 'pg-main-weekly-20260104']);
    expect(w.snapshots.map((b) => b.name)).toEqual(['pg-main-snap-20260109']);
  });

  it('in-tree: the per-method start (barmanObjectStore), not the all-methods minimum a volume snapshot lowers', () => {
    const withSnapshots = {
      ...cluster,
      status: {
        ...cluster.status,
        firstRecoverabilityPoint: '2025-12-20T01:00:00Z',
        firstRecoverabilityPointByMethod: {
          volumeSnapshot: '2025-12-20T01:00:00Z',
          barmanObjectStore: '2026-01-01T01:00:00Z',
        },
        lastSuccessfulBackup: '2026-01-09T01:00:00Z',
        lastSuccessfulBackupByMethod: {
          volumeSnapshot: '2026-01-09T01:00:00Z',
          barmanObjectStore: '2026-01-04T01:00:00Z',
        },
      },
    } as Cluster;
    expect(recoveryWindow(withSnapshots, 'in-tree', undefined, 'pg-main', backups)).toMatchObject({
      firstRecoverabilityPoint: '2026-01-01T01:00:00Z',
      startField: 'firstRecoverabilityPointByMethod.barmanObjectStore',
      lastSuccessfulBackup: '2026-01-04T01:00:00Z',
    });
    // Only snapshots published per method: the barman window start is unknown, not the snapshot's.
    const onlySnapshots = {
      ...cluster,
      status: {
        firstRecoverabilityPoint: '2025-12-20T01:00:00Z',
        firstRecoverabilityPointByMethod: { volumeSnapshot: '2025-12-20T01:00:00Z' },
      },
    } as Cluster;
    expect(
      recoveryWindow(onlySnapshots, 'in-tree', undefined, 'pg-main', backups).firstRecoverabilityPoint,
    ).toBeUndefined();
  });

  it('plugin: from the ObjectStore status for the archive server name, not the Cluster', () => {
    const w = recoveryWindow(cluster, 'plugin', store, 'pg-main-v2', backups);
    expect(w).toMatchObject({
      source: 'ObjectStore pg-store status.serverRecoveryWindow["pg-main-v2"]',
      firstRecoverabilityPoint: '2026-01-01T01:00:05Z',
      lastSuccessfulBackup: '2026-01-04T01:00:05Z',
    });
    expect(recoveryWindow(cluster, 'plugin', store, 'other', backups).firstRecoverabilityPoint).toBeUndefined();
  });

  it('a newer volume snapshot is never the backup a barman drill restores', () => {
    const now = new Date('2026-01-10T00:00:00Z');
    expect(assessInventory(backups, cluster, undefined, { now, maxBackupAgeMs: 30 * 86_400_000 }).newest?.name).toBe(
      'pg-main-weekly-20260104',
    );
  });

  it('is in every report, with every backup and the snapshot marked', () => {
    const now = new Date('2026-01-10T00:00:00Z');
    const inventory = assessInventory(backups, cluster, undefined, { now, maxBackupAgeMs: 30 * 86_400_000 });
    const r: DrillResult = {
      verdict: 'passed',
      reasons: [],
      cluster: 'pg-main',
      namespace: 'db',
      phases: [],
      tolerance: { tolerance: 0.1, floor: 10 },
      databases: [],
      verifications: [],
      notes: [],
      startedAt: now.toISOString(),
      inventory,
      window: recoveryWindow(cluster, 'in-tree', undefined, 'pg-main', backups),
    };
    const text = renderReport(r);
    expect(text).toContain('Recovery window (from Cluster status):');
    expect(text).toContain(
      '| **First recoverability point** | 2026-01-01T01:00:00Z (status.firstRecoverabilityPoint: every method, no per-method figure published) |',
    );
    expect(text).toContain('| **Last successful backup** | 2026-01-04T01:00:00Z |');
    expect(text).toContain(
      '| **Base backups a barman restore can start from** | 2: oldest pg-main-weekly-20260101 (2026-01-01T01:00:00Z), newest pg-main-weekly-20260104 (2026-01-04T01:00:00Z) |',
    );
    expect(text).toContain(
      '| pg-main-snap-20260109 (volume snapshot: never used by a barman restore) | completed | volumeSnapshot |',
    );
    expect(text).toContain('| **pg-main-weekly-20260104** (newest completed) | completed | barmanObjectStore |');
    expect(text).toContain('| pg-main-weekly-20260108 | failed |');
  });
});
