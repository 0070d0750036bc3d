// The drill's result model: what run.ts fills in, report/slack/record read.
import type { ErrorKind } from '../errors.js';
import type { CountComparison } from '../postgres/compare-counts.js';
import type { SchemaDifference } from '../postgres/schema.js';
import type { Verification, VerifyMode } from '../postgres/verify.js';
import type { LiveCounts } from './compare.js';
import type { BackupMode } from './live-spec.js';
import type { Inventory } from './inventory.js';
import type { RestorePoint } from './restore-point.js';
import type { Rpo } from './rpo.js';
import type { TeardownResult } from './teardown.js';
import type { RecoveryWindow } from './window.js';
import type { ContentComparison } from './content-compare.js';
import type { CheckResult } from './content-report.js';
import type { CredentialsReport } from './recovery-credentials.js';

export interface DatabaseComparison {
  database: string;
  tablesCompared: number;
  schemaDifferences: SchemaDifference[];
  outOfTolerance: CountComparison[];
  /** Every table's comparison (for the collapsed detail table). */
  counts: CountComparison[];
  /** Live tables by how they were counted, and on which instance. */
  liveCounted: { on: LiveCountedOn; exact: number; nLiveTup: number; reltuples: number };
  /** The restore's full read (every table, count(*)). */
  restoreRead: { tables: number; failed: number; ms: number };
  /** Live tables the drill's role may not read: not compared (never a failure), with the grant that fixes it. */
  notCompared?: NotCompared;
}

export interface NotCompared {
  tables: { schema: string; table: string; restored?: number }[];
  /** The live session's role. */
  role: string;
  /** The least grant that lets the drill compare them. */
  grant: string;
}

export type LiveCountedOn = 'primary' | 'replica';

/** What the drill was asked to count and verify, for the report's explanations. */
export interface CountingPolicy {
  live: LiveCounts;
  liveExactMaxBytes: number;
  verify: VerifyMode;
}

export interface PhaseTiming {
  phase: string;
  ms: number;
}

/** Which point the drill restored and how its counts were judged (targets.ts, same-moment.ts). */
export interface TargetReport {
  kind: string;
  describe: string;
  /** random: the seed to replay it. */
  seed?: number;
  /** Row counts judged against live (else reported only). */
  judged: boolean;
  /** How counts were judged and why (exact at the pinned moment, or the tolerance and the fallback's reason). */
  judging?: string;
  /** The LSN the recovery stopped at, when pinned. */
  lsn?: string;
  /** Where recovery stopped, checked against the target. */
  stop?: { ok: boolean; lines: string[] };
}

/** Why the drill could not judge (errors.ts classifyError), set when the verdict is 'error'. */
export interface DrillError {
  kind: ErrorKind;
  message: string;
  fix: string;
}

/**
 * passed: the restore matches live. failed: the backup or the restore is at fault (reasons).
 * error: the drill could not judge (its own exception, an unreachable, unauthorised or misconfigured API).
 */
export type DrillVerdict = 'passed' | 'failed' | 'error';

export interface DrillResult {
  verdict: DrillVerdict;
  reasons: string[];
  /** Set when verdict is 'error'. */
  error?: DrillError;
  cluster: string;
  namespace: string;
  mode?: BackupMode;
  recoveryCluster?: string;
  /** Where the recovery ran, which object store it restored from and with which credentials (report: "Restored in / from / with"). */
  recoverySite?: { where: string; remote: boolean; objectStore?: string; credentials?: CredentialsReport };
  backupId?: string;
  inventory?: Inventory;
  /** First recoverability point, last successful backup and the base backups, as the operator publishes them. */
  window?: RecoveryWindow;
  phases: PhaseTiming[];
  /** Recovery cluster created -> healthy. */
  rtoSeconds?: number;
  recoveryPhases?: { jobRunningS?: number; jobDoneS?: number; readyS?: number };
  rpo?: Rpo;
  restorePoint?: RestorePoint;
  target?: TargetReport;
  tolerance: { tolerance: number; floor: number };
  databases: DatabaseComparison[];
  counting?: CountingPolicy;
  /** compare: content: per database, the row digests, sequences and large objects compared. */
  content?: ContentComparison[];
  /** User checks (`checks`), in order; values only for those with show: true. */
  checks?: CheckResult[];
  /** amcheck and checksum results of the restore, per database. */
  verifications?: Verification[];
  teardown?: TeardownResult;
  kept?: boolean;
  /** Tail of the recovery Job's pod log when the recovery failed. */
  recoveryLog?: string;
  /** Warnings worth reading (sweep results, Slack trouble, ...). */
  notes: string[];
  runUrl?: string;
  startedAt: string;
}
