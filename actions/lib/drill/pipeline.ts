// The drill as a pipeline of phases over one context.
//
// THE CONTRACT (read before adding a phase)
// - A phase is one small module ./phases/<name>.phase.ts, built with `definePhase({...})`; the logic
//   it calls lives one folder up (phases/same-moment.phase.ts calls ./same-moment.ts). A phase never
//   imports another phase: what phases share is such logic, or a fact.
//     name   identifier, used in error messages and tests;
//     title  optional: when set the runner logs "▶ <title>" and records its time (the report's
//            phase table); untitled phases run silently;
//     needs  the facts it reads: the runner hands them over as `input`, typed
//            `Pick<Facts, needs>`, and refuses to start (or to ask `when`) if an earlier phase did
//            not give them;
//     gives  the facts it returns: `run` must resolve to exactly `Pick<Facts, gives>`. What a phase
//            finds (measurements, reasons, notes) is a fact too: `ctx.give(...)` hands facts over
//            as they are found, before `run` returns, and may give one again as it grows (each time
//            a fresh value: a given value is never changed in place), so what a phase found before
//            it failed or was cancelled reaches the report. A phase gives only while it runs: once
//            it ends or a cancellation abandons it, its gives are dropped, so the final phases and
//            the JSON report (run.ts) see the same facts, all given up to the abort;
//     reads  the inputs it reads (DrillInputs keys): `ctx.inputs` (and `when`'s) holds those alone,
//            typed `Pick<DrillInputs, reads>`; reading another throws. Where an input takes effect
//            is answered by the declarations (test/drill/pipeline.unit.test.ts asks it), except for
//            inputs the runner applies once for every phase: cluster, namespace, row-count-tolerance
//            and -floor frame the result (ctx.run, run.ts createContext; read through drillResult
//            by verdict, record, notify, metrics, outputs and report), and kubeconfig, context and
//            recovery-namespace / -kubeconfig / -context are where the drill connects (ctx.clients,
//            ctx.site: recovery-site.ts), opened before any phase so a bad one creates nothing;
//     when   optional: decided on the environment (PhaseEnv: its declared inputs, no facts or
//            owned) and the declared `needs` alone; returns true, or why the phase does not apply.
//            A skipped phase gives `{ skipped: why }` (Skipped) for each of its facts, whose type in
//            Facts must admit it (the compiler refuses `when` otherwise); read given() / isSkipped();
//     run(ctx, input) the work: call the logic modules (inventory.ts, wait.ts, ...), not the
//            Kubernetes or PostgreSQL clients inline.
// - A phase's context (PhaseContext) holds:
//     core, clients, site, retry, signal, env, kubeconfig, log   the environment, read-only;
//     inputs   the inputs it reads, and no others;
//     facts    what phases gave, read-only (Readonly<Partial<Facts>>; read it through `needs`);
//     owned    what must be cleaned up: register it the moment it exists, BEFORE awaiting
//              anything (sessions.ts registers database sessions; create.phase.ts the recovery cluster);
//     cancelledAt  epoch ms of the SIGTERM/SIGINT, for the teardown's grace-window deadline.
//   It has no result: the DrillResult (what report, record, Slack, metrics and outputs read) is
//   assembled by result.ts drillResult from the facts and what the runner records (ctx.run: phase
//   times, what stopped the drill), from whatever facts exist (a skipped or never-run phase gives
//   nothing). The verdict phase gives the verdict and the target report; no phase writes the result.
// - Stages (drillPipeline in ./phases/index.ts, one phase per line):
//     preflight  until the live cluster is known to exist. A failure is an error the drill
//                could not judge past (bad input, credentials, RBAC, a missing cluster): nothing
//                is written; only the alerting phases (afterPreflightError) run, so Slack hears it.
//     main       in order; the first failure stops the stage: a VerdictError's reasons become
//                the result's reasons (the backup or restore is at fault); any other throw is an
//                error (the result's error, classified once by errors.ts classifyError, its stack
//                logged in a collapsed group), never a reason. A cancellation abandons the running
//                phase at once (a query may not notice the abort): what it gave so far stands.
//     final      ALWAYS, in order, even after a failure or a cancellation: close sessions,
//                teardown, verdict, record, notify, metrics, outputs, report, step status. They
//                read `ctx.facts` / `ctx.owned` directly (anything may be missing), declare no
//                needs and must not throw (teardown, verdict, record, notify and metrics give
//                facts); a throw is logged as a warning and the next final phase still runs.
// - To add a phase: write phases/<name>.phase.ts with definePhase, add its facts to Facts below
//   (and, if the report shows them, to result.ts drillResult), put it in drillPipeline at the right
//   place. test/drill/pipeline.unit.test.ts checks the order (every need given earlier), the
//   runner's rules and the phase files (names, no imports between phases, no write to the result).
import type { Core } from '../core.js';
import { classifyError, describeError, errorStack, VerdictError } from '../errors.js';
import type { KubeClients } from '../kube/client.js';
import type { RetryOptions } from '../kube/retry.js';
import type { Cluster, ObjectStore } from '../cnpg/types.js';
import { failWithError } from '../report/outcome.js';
import type { Baseline } from './compare.js';
import type { DrillInputs } from './inputs.js';
import type { Inventory } from './inventory.js';
import type { LiveSpec } from './live-spec.js';
import type { RecoveryCredentials } from './recovery-credentials.js';
import type { RecoverySite } from './recovery-site.js';
import type { RestorePoint } from './restore-point.js';
import {
  drillReasons,
  type Comparison,
  type CountingPolicy,
  type DrillResult,
  type RunRecord,
  type TornDown,
  type Verdict,
} from './result.js';
import type { BackupMode } from './live-spec.js';
import type { RecoveryWindow } from './window.js';
import type { Verification } from '../postgres/verify.js';
import type { LiveMark, Rpo } from './rpo.js';
import type { Session } from './sessions.js';
import type { RecoveryTimings } from './wait.js';
import type { RestoreLog } from './restore-log.js';
import type { StopCheck } from './recovery-check.js';
import type { ResolvedTarget } from './targets.js';
import type { Moment, Pin } from './same-moment.js';

/** What phases hand each other. */
export interface Facts {
  /** The `timeout` input, shortened when the credentials expire before the drill's worst case (credentials). */
  timeoutMs: number;
  /** What the credentials check found worth a note (a shortened timeout). */
  credentialNotes: string[];
  /** The live Cluster, read by preflight. */
  live: Cluster;
  /** The backup mode, given before the rest of the spec is read (a spec that cannot be drilled still reports it). */
  mode: BackupMode;
  spec: LiveSpec;
  /** Other credentials than live's for the recovery to read the archive with (skipped: live's own). */
  recoveryCredentials: RecoveryCredentials | Skipped;
  /** The ObjectStore of plugin mode (its status holds the recovery window); undefined in-tree. */
  store: ObjectStore | undefined;
  /** The databases to compare (the `databases` input, else the bootstrap database). */
  databases: string[];
  /** One read-only session per database on the live primary; closed after the baseline. */
  liveSessions: Session[];
  /** Live's WAL position and time at drill start (the RPO's reference). */
  mark: LiveMark;
  /** Given before its problems stop the drill: the report shows the inventory that failed it. */
  inventory: Inventory;
  /** The recovery window as the operator publishes it (inventory). */
  window: RecoveryWindow | undefined;
  /** What the inventory could not read (pg_stat_archiver). */
  inventoryNotes: string[];
  /** Why time targets are held to the last archived WAL rather than a commit (choose-target). */
  targetNotes: string[];
  /** Expired drill clusters and orphan copies swept (sweep), as far as the sweep got. */
  sweepNotes: string[];
  /** How live is counted and the restore verified (baseline), for the report's explanations. */
  counting: CountingPolicy;
  /** Why live was not counted at one moment (baseline). */
  baselineNotes: string[];
  /** Only with `restore-point: true`. */
  restorePoint: RestorePoint | Skipped;
  baselines: Baseline[];
  /** The name this run gives its recovery cluster (also the restore point's name). */
  recoveryName: string;
  /** The recovery cluster and where it runs, given before it is created (a failed create still reports it). */
  recovery: { cluster: string; site: NonNullable<DrillResult['recoverySite']> };
  /** When the recovery cluster was created (epoch ms): the RTO's start and the base of every later deadline. */
  created: number;
  /** When the recovery was then seen running, done and healthy (wait-recovery), from `created`. */
  recoveredTimings: RecoveryTimings;
  /** Tail of the recovery Job's pod log, given when the recovery failed (wait-recovery). */
  recoveryLog: string | undefined;
  /** The restore container's log (Job pod or `bootstrap-instance` init container), captured while it existed. */
  restoreLog: RestoreLog;
  /** One read-only session per database on the restored primary, same order as `baselines`. */
  restoredSessions: Session[];
  /** The restore compared with live, per database (compare), as far as it got. */
  comparison: Comparison;
  /** `recovery-target` resolved against the recovery window (targets.ts). */
  target: ResolvedTarget;
  /** Live's counting snapshot and its WAL position, when live was counted at one moment. */
  moment: Moment | undefined;
  /** Where the recovery stops and how counts are judged (the same-moment phase). */
  pin: Pin;
  /** Where recovery stopped, checked against the pin (recovery-check); skipped without a point to check. */
  stop: StopCheck | Skipped;
  rpo: Rpo;
  /** amcheck and checksums per restored database (verify), as far as it got. */
  verifications: Verification[];
  /** What the teardown did (a final phase); skipped when nothing was created. */
  teardown: TornDown | Skipped;
  /** The verdict, settled once the teardown is known, and the target report (verdict). */
  verdict: Verdict;
  /** What could not be recorded, told or written (record, notify, metrics; each skipped when it does not apply). */
  recordNotes: string[] | Skipped;
  slackNotes: string[] | Skipped;
  metricsNotes: string[] | Skipped;
}
export type FactName = keyof Facts;

/** What a skipped phase gives for each of its facts: why it did not run, never a bare undefined. */
export interface Skipped {
  readonly skipped: string;
}
export const isSkipped = (fact: unknown): fact is Skipped =>
  typeof fact === 'object' && fact !== null && 'skipped' in fact;
/** The fact, or undefined when the phase that gives it was skipped. */
export const given = <T>(fact: T | Skipped): T | undefined => (isSkipped(fact) ? undefined : fact);
/** The facts a phase with `when` may give: those whose type admits Skipped. */
type SkippableFact = { [K in FactName]: Skipped extends Facts[K] ? K : never }[FactName];

export interface DrillContext {
  readonly core: Core;
  readonly inputs: DrillInputs;
  readonly clients: KubeClients;
  /** Where the recovery cluster lives (recovery-site.ts): the live namespace, a sandbox, or another cluster. */
  readonly site: RecoverySite;
  readonly retry: RetryOptions;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** The kubeconfig text, saved for the post step (state.ts). */
  readonly kubeconfig: string;
  readonly log: (line: string) => void;
  readonly facts: Partial<Facts>;
  /** What the runner itself records; the result is assembled from it and the facts (result.ts drillResult). */
  readonly run: RunRecord;
  readonly owned: Owned;
  cancelledAt?: number;
  /** What the drill could not judge past, as thrown (stepStatus fails the step with it). */
  thrown?: unknown;
}

/** The drill's inputs by the name DrillInputs gives them (the slack-* inputs are one: slack). */
export type InputName = keyof DrillInputs;

/**
 * What a phase's `run` gets: the environment with only the inputs it `reads`, the facts read-only
 * (final phases read them; others take their `needs`), never the result. `give` hands over facts
 * as they are found (again as they grow, each time a fresh value), so what a failing or cancelled
 * phase found still reaches the report.
 */
export interface PhaseContext<R extends InputName = never, O extends FactName = never> extends Omit<
  DrillContext,
  'inputs' | 'facts' | 'run' | 'cancelledAt' | 'thrown'
> {
  readonly inputs: Readonly<Pick<DrillInputs, R>>;
  readonly facts: Readonly<Partial<Facts>>;
  readonly run: Readonly<RunRecord>;
  readonly cancelledAt?: number;
  readonly thrown?: unknown;
  give(facts: Partial<Pick<Facts, O>>): void;
}

/**
 * A list fact that grows as a phase finds its items: given at once (empty), then again at each
 * `add`, each time a fresh array, so a phase abandoned part way has given what it found.
 */
export function growingList<T>(give: (list: T[]) => void): { readonly list: T[]; add(...items: T[]): void } {
  let list: T[] = [];
  give(list);
  return {
    get list() {
      return list;
    },
    add: (...items) => give((list = [...list, ...items])),
  };
}

/** What the run created and the final phases clean up. */
export interface Owned {
  sessions: { close(): Promise<void> }[];
  /** Set just before the create request is sent; `creating` settles when it lands or fails. */
  recoveryCluster?: { name: string; creating: Promise<unknown> };
  /** Secrets (and an ObjectStore) copied to a sandbox / recovery site (recovery-copies.ts). */
  copies?: { objectStores: boolean; configMaps?: boolean };
}

type Output<O extends FactName> = [O] extends [never] ? void : Pick<Facts, O>;

/** What `when` may read besides its declared needs: the environment and its declared inputs, never the facts. */
export type PhaseEnv<R extends InputName = never> = Omit<PhaseContext<R>, 'facts' | 'run' | 'owned' | 'give'>;

/** True when the phase applies, else why it does not (what its facts say as Skipped). */
type When<I extends FactName, R extends InputName> = (env: PhaseEnv<R>, input: Pick<Facts, I>) => true | string;

export interface Phase<I extends FactName = never, O extends FactName = never, R extends InputName = never> {
  name: string;
  title?: string;
  needs: readonly I[];
  gives: readonly O[];
  reads: readonly R[];
  when?: [O] extends [SkippableFact] ? When<I, R> : never;
  run(ctx: PhaseContext<R, O>, input: Pick<Facts, I>): Promise<Output<O>>;
}

/** A phase with its types erased, as the runner sees it. */
export interface AnyPhase {
  name: string;
  title?: string;
  needs: readonly FactName[];
  gives: readonly FactName[];
  reads: readonly InputName[];
  when?: (env: never, input: never) => true | string;
  run(ctx: never, input: never): Promise<unknown>;
}

export const definePhase = <I extends FactName = never, O extends FactName = never, R extends InputName = never>(
  p: Phase<I, O, R>,
): Phase<I, O, R> => p;

export interface Pipeline {
  preflight: readonly AnyPhase[];
  main: readonly AnyPhase[];
  final: readonly AnyPhase[];
  /** After a preflight failure (nothing created): the phases that tell (verdict, Slack, outputs, report,
   *  step status). Without it a preflight failure only fails the step with its message. */
  afterPreflightError?: readonly AnyPhase[];
}

export class Cancelled extends Error {
  constructor(signal: string) {
    super(`cancelled (${signal}): the drill stopped and tore down what it created`);
    this.name = 'Cancelled';
  }
}

/** Problems in the pipeline's order: a phase needing what no earlier phase gives, a final phase needing anything. */
export function orderProblems(p: Pipeline): string[] {
  const given = new Set<FactName>();
  const problems: string[] = [];
  for (const phase of [...p.preflight, ...p.main]) {
    for (const need of phase.needs)
      if (!given.has(need)) problems.push(`${phase.name} needs '${need}', which no earlier phase gives`);
    for (const g of phase.gives) given.add(g);
  }
  for (const phase of p.final)
    if (phase.needs.length) problems.push(`final phase ${phase.name} must read ctx.facts, not declare needs`);
  return problems;
}

/**
 * Runs the pipeline. Returns false after a preflight failure without afterPreflightError (the step
 * is already failed with one message), true once the final (or alerting) phases ran.
 */
export async function runPipeline(ctx: DrillContext, p: Pipeline): Promise<boolean> {
  try {
    for (const phase of p.preflight) await runPhase(ctx, phase, false);
  } catch (err) {
    if (!p.afterPreflightError) {
      failWithError(ctx.core, err);
      return false;
    }
    await runAfterError(ctx, p.afterPreflightError, err);
    return true;
  }
  try {
    for (const phase of p.main) await runPhase(ctx, phase, true);
  } catch (err) {
    settleFailure(ctx, err);
  }
  await runFinal(ctx, p.final);
  return true;
}

/** An error before any phase could run (or in preflight): records it, then runs only `phases` (they tell). */
export async function runAfterError(ctx: DrillContext, phases: readonly AnyPhase[], err: unknown): Promise<void> {
  settleFailure(ctx, err);
  await runFinal(ctx, phases);
}

async function runFinal(ctx: DrillContext, phases: readonly AnyPhase[]): Promise<void> {
  for (const phase of phases) {
    try {
      await runPhase(ctx, phase, false);
    } catch (err) {
      ctx.core.warning(`${phase.name}: ${describeError(err)}`);
    }
  }
}

/**
 * What stopped the drill: a VerdictError is the backup's or restore's fault (its reasons); anything
 * else is an error the drill could not judge past, classified once (errors.ts). After a fault was
 * already found (reasons), that fault stands and the error is only a note: the backup was judged.
 */
export function settleFailure(ctx: DrillContext, err: unknown): void {
  const { run, core } = ctx;
  if (err instanceof VerdictError) {
    run.failure = { reasons: err.reasons };
    return;
  }
  const thrown = ctx.signal.aborted ? (ctx.signal.reason ?? err) : err;
  const { kind, fix } = classifyError(thrown);
  const message = describeError(thrown);
  if (kind !== 'input' && kind !== 'cancelled') {
    core.startGroup(`Stack trace (drill error: ${kind})`);
    core.info(errorStack(thrown));
    core.endGroup();
  }
  if (drillReasons(ctx).length) {
    run.failure = {
      reasons: [],
      note: `The drill stopped after finding the faults above: ${message} (${kind}; ${fix}).`,
    };
    return;
  }
  ctx.thrown = thrown;
  run.failure = { reasons: [], error: { kind, message, fix } };
}

async function runPhase(ctx: DrillContext, phase: AnyPhase, cancellable: boolean): Promise<void> {
  const facts = ctx.facts as Record<FactName, unknown>;
  const input: Partial<Record<FactName, unknown>> = {};
  for (const need of phase.needs) {
    if (!(need in facts)) throw new Error(`phase ${phase.name} needs '${need}', which no earlier phase gave`);
    input[need] = facts[need];
  }
  const env = envOf(ctx, phase);
  const applies = phase.when?.(env as never, input as never) ?? true;
  if (applies !== true) {
    const skipped: Skipped = { skipped: applies };
    for (const g of phase.gives) facts[g] = skipped;
    return;
  }
  if (cancellable) throwIfCancelled(ctx.signal);
  const started = Date.now();
  if (phase.title) ctx.log(`▶ ${phase.title}`);
  // Closed when the phase ends, and at the abort for a phase a cancellation abandons (it may
  // still run: a query may not notice the abort): what it gives later would reach no final phase.
  let open = true;
  const store = (out: Partial<Record<FactName, unknown>>) => {
    for (const g of phase.gives) if (g in out) facts[g] = out[g];
  };
  const give = (out: Partial<Record<FactName, unknown>>) => {
    if (open && !(cancellable && ctx.signal.aborted)) store(out);
  };
  const phaseCtx: PhaseContext<InputName, FactName> = {
    ...env,
    facts: Object.freeze({ ...ctx.facts }),
    run: ctx.run,
    owned: ctx.owned,
    give,
  };
  try {
    const work = phase.run(phaseCtx as never, input as never);
    const out = (await (cancellable ? raceAbort(work, ctx.signal) : work)) as
      Partial<Record<FactName, unknown>> | undefined;
    for (const g of phase.gives) if (!out || !(g in out)) throw new Error(`phase ${phase.name} did not give '${g}'`);
    store(out!);
  } finally {
    open = false;
    if (phase.title) ctx.run.phases.push({ phase: phase.title, ms: Date.now() - started });
  }
}

/** The environment of `phase`: its declared inputs alone (reading another throws), no facts, no result. */
function envOf(
  { facts: _facts, run: _run, owned: _owned, inputs, ...env }: DrillContext,
  phase: AnyPhase,
): PhaseEnv<InputName> {
  const declared = Object.fromEntries(phase.reads.filter((r) => r in inputs).map((r) => [r, inputs[r]]));
  const view = new Proxy(declared, {
    get(target, key) {
      if (typeof key === 'string' && !(key in target) && key in inputs)
        throw new Error(`phase ${phase.name} reads the input '${key}', which it does not declare (reads)`);
      return target[key as string];
    },
  });
  return { ...env, inputs: view as unknown as DrillInputs };
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Cancelled('abort');
}

/** Stops waiting for `work` the moment the job is cancelled (a query may not notice the abort). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
