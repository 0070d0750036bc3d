// The drill's result model: what run.ts fills in, report/slack/record read.
import type { CountComparison } from '../postgres/compare-counts.js';
import type { SchemaDifference } from '../postgres/schema.js';
import type { BackupMode } from './live-spec.js';
import type { Inventory } from './inventory.js';
import type { RestorePoint } from './restore-point.js';
import type { Rpo } from './rpo.js';
import type { TeardownResult } from './teardown.js';

export interface DatabaseComparison {
  database: string;
  tablesCompared: number;
  schemaDifferences: SchemaDifference[];
  outOfTolerance: CountComparison[];
  /** Every table's comparison (for the collapsed detail table). */
  counts: CountComparison[];
  countMethods: { exact: number; estimate: number };
}

export interface PhaseTiming {
  phase: string;
  ms: number;
}

export interface DrillResult {
  verdict: 'passed' | 'failed';
  reasons: string[];
  cluster: string;
  namespace: string;
  mode?: BackupMode;
  recoveryCluster?: string;
  /** Where the recovery ran and which object store it restored from (report: "Restored in / from"). */
  recoverySite?: { where: string; remote: boolean; objectStore?: string };
  backupId?: string;
  inventory?: Inventory;
  phases: PhaseTiming[];
  /** Recovery cluster created -> healthy. */
  rtoSeconds?: number;
  recoveryPhases?: { jobRunningS?: number; jobDoneS?: number; readyS?: number };
  rpo?: Rpo;
  restorePoint?: RestorePoint;
  tolerance: { tolerance: number; floor: number };
  databases: DatabaseComparison[];
  teardown?: TeardownResult;
  kept?: boolean;
  /** Tail of the recovery Job's pod log when the recovery failed. */
  recoveryLog?: string;
  /** Warnings worth reading (sweep results, Slack trouble, ...). */
  notes: string[];
  runUrl?: string;
  startedAt: string;
}
