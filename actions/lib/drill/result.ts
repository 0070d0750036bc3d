// The drill's result model, which report/slack/record/metrics/outputs read, and drillResult: the one
// place it is assembled, from the facts phases gave and what the runner recorded (pipeline.ts).
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
import { checksNotEvaluated, type CheckResult } from './content-report.js';
import { verificationReasons } from '../postgres/verify.js';
import { given, type Facts, type Skipped } from './pipeline.js';
import type { RecoveryTimings } from './wait.js';
import type { StopCheck } from './recovery-check.js';
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
  /** Live tables not compared (never a failure): unreadable by the drill's role, or unlogged. */
  notCompared?: NotCompared;
}

/**
 * Why a live table's rows were not compared: the role may not SELECT it (`permission`), a row-level
 * security policy applies to the role (`row security`), or it is unlogged (a restore has it empty).
 */
export type NotComparedWhy = 'permission' | 'row security' | 'unlogged';

export interface NotCompared {
  tables: { schema: string; table: string; restored?: number; why: NotComparedWhy }[];
  /** The live session's role (when live refused some reads). */
  role?: string;
  /** The least grant that lets the drill compare the `permission` tables. */
  grant?: string;
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

/** What the compare phase found, per database, as far as it got. */
export interface Comparison {
  databases: DatabaseComparison[];
  content?: ContentComparison[];
  checks?: CheckResult[];
  reasons: string[];
  notes: string[];
}

/** What the teardown phase did: the cluster kept (keep-on-failure), or torn down (how, how long, what failed). */
export interface TornDown {
  kept?: boolean;
  report?: TeardownResult;
  ms?: number;
  reasons: string[];
}

/** The verdict phase's judgement: settled once the teardown is known. */
export interface Verdict {
  verdict: DrillVerdict;
  error?: DrillError;
  target?: TargetReport;
}

/** What the runner records itself (no phase writes it): the run's frame, titled phases' times, what stopped it. */
export interface RunRecord {
  readonly cluster: string;
  readonly namespace: string;
  readonly tolerance: { tolerance: number; floor: number };
  readonly runUrl?: string;
  readonly startedAt: string;
  readonly phases: PhaseTiming[];
  /** A VerdictError's reasons, or the error (or, after faults were found, the note) that stopped the drill. */
  failure?: { reasons: string[]; note?: string; error?: DrillError };
}

type Sources = { facts: Readonly<Partial<Facts>>; run: Readonly<RunRecord> };

/** The reasons so far, in the order they were found: the checks', what stopped the drill, the teardown's. */
export function drillReasons({ facts, run }: Sources): string[] {
  const teardown = facts.teardown && given(facts.teardown);
  return [
    ...(facts.comparison?.reasons ?? []),
    ...stopReasons(facts.stop && given(facts.stop)),
    ...(facts.verifications ?? []).flatMap(verificationReasons),
    ...(run.failure?.reasons ?? []),
    ...(teardown?.reasons ?? []),
  ];
}

/** The notes so far, in the order phases found them. */
function drillNotes({ facts, run }: Sources): string[] {
  const stop = facts.stop && given(facts.stop);
  return [
    ...(facts.credentialNotes ?? []),
    ...(facts.inventoryNotes ?? []),
    ...(facts.targetNotes ?? []),
    ...(facts.sweepNotes ?? []),
    ...(facts.baselineNotes ?? []),
    ...(facts.comparison?.notes ?? []),
    ...(stop?.unchecked.length
      ? [`Where recovery stopped could not be fully checked: ${stop.unchecked.join('; ')}.`]
      : []),
    ...(run.failure?.note ? [run.failure.note] : []),
    ...notesOf(facts.recordNotes),
    ...notesOf(facts.slackNotes),
    ...notesOf(facts.metricsNotes),
  ];
}

const notesOf = (notes: string[] | Skipped | undefined): string[] => (notes && given(notes)) ?? [];

/** A recovery that missed its stop: the lines that say where (recovery-check.ts). */
function stopReasons(stop: StopCheck | undefined): string[] {
  return stop && !stop.ok ? stop.lines.filter((l) => l.startsWith('recovery')) : [];
}

/** The RTO and the recovery's moments, in seconds from the recovery cluster's creation. */
export function recoveryMeasures(t: RecoveryTimings): Pick<DrillResult, 'rtoSeconds' | 'recoveryPhases'> {
  const since = (at?: number) => (at ? Math.round((at - t.created) / 100) / 10 : undefined);
  return {
    rtoSeconds: since(t.healthy),
    recoveryPhases: { jobRunningS: since(t.jobRunning), jobDoneS: since(t.jobDone), readyS: since(t.healthy) },
  };
}

/** The verdict as the facts so far give it: failed until the verdict phase settled it. */
export function verdictOf(sources: Sources, target: TargetReport | undefined): Verdict {
  const reasons = drillReasons(sources);
  const error =
    sources.run.failure?.error ?? (reasons.length ? undefined : checksNotEvaluated(comparedChecks(sources)));
  return { verdict: error ? 'error' : reasons.length ? 'failed' : 'passed', error, target };
}

const comparedChecks = ({ facts }: Sources) => facts.comparison?.checks;

/** The result, assembled from whatever facts exist (a phase skipped or never run gives nothing). */
export function drillResult(sources: Sources): DrillResult {
  const { facts: f, run } = sources;
  const verdict = f.verdict;
  const error = verdict ? verdict.error : run.failure?.error;
  const teardown = f.teardown && given(f.teardown);
  // In the order the phases find them (a JSON report lists its keys so).
  const result: DrillResult = {
    verdict: verdict?.verdict ?? 'failed',
    reasons: drillReasons(sources),
    cluster: run.cluster,
    namespace: run.namespace,
    phases: [...run.phases, ...(teardown?.ms !== undefined ? [{ phase: 'teardown', ms: teardown.ms }] : [])],
    tolerance: run.tolerance,
    databases: f.comparison?.databases ?? [],
    verifications: f.verifications ?? [],
    notes: drillNotes(sources),
    runUrl: run.runUrl,
    startedAt: run.startedAt,
    mode: f.mode,
    window: f.window,
    inventory: f.inventory,
    backupId: f.target?.backup ? f.target.backup.backupId : f.inventory?.newest?.backupId,
    counting: f.counting,
    restorePoint: f.restorePoint && given(f.restorePoint),
    recoveryCluster: f.recovery?.cluster,
    recoverySite: f.recovery?.site,
    recoveryLog: f.recoveryLog,
    ...(f.recoveredTimings ? recoveryMeasures(f.recoveredTimings) : {}),
    content: f.comparison?.content,
    checks: comparedChecks(sources),
    rpo: f.rpo,
    error,
    kept: teardown?.kept,
    teardown: teardown?.report,
    target: verdict?.target,
  };
  // What no phase gave is absent, as it was before any phase ran.
  return Object.fromEntries(Object.entries(result).filter(([, v]) => v !== undefined)) as unknown as DrillResult;
}
