// Every time budget the drill's pipeline uses, named in one place (the user-set ones, such as
// `timeout` and `statement-timeout`, come from inputs.ts).

/** Each Kubernetes API request (client side). */
export const API_REQUEST_MS = 10_000;
/** Sweeping expired drill clusters before this run creates its own. */
export const SWEEP_MS = 60_000;
/** Waiting for the restore point's WAL segment to be archived (also capped by the `timeout` input). */
export const RESTORE_POINT_ARCHIVED_MS = 10 * 60_000;

/** Closing database sessions before teardown: pg's pool.end() waits for running queries. */
export const CLOSE_SESSIONS_MS = 5_000;
export const CLOSE_SESSIONS_CANCELLED_MS = 300;
/** A create still in flight must land (or fail) before the delete, or it would outlive the run. */
export const CREATE_SETTLE_MS = 30_000;
export const CREATE_SETTLE_CANCELLED_MS = 2_000;
/** Teardown of the recovery cluster (and of a same-named leftover) on the normal path. */
export const TEARDOWN_MS = 5 * 60_000;
/** Teardown budget after a cancellation, from the signal: the runner kills ~7.5 s after SIGTERM (post re-checks). */
export const CANCEL_TEARDOWN_MS = 6_500;
/** Retries of teardown API calls: few after a cancellation, where the grace window is short. */
export const TEARDOWN_RETRY = { attempts: 6, maxDelayMs: 1_000 } as const;
export const CANCEL_TEARDOWN_RETRY = { attempts: 2, maxDelayMs: 1_000 } as const;
/** Attempts at writing the history ConfigMap (a 409 from a concurrent drill is retried). */
export const RECORD_ATTEMPTS = 4;

/** After the step is done, sockets of aborted port-forwards/queries must not keep the process alive. */
export const EXIT_GRACE_MS = 250;

/** Recording, notifying and reporting after teardown (the history write, Slack's retries, the summary). */
export const FINAL_PHASES_MS = 2 * 60_000;

/** The inputs the drill's worst-case duration depends on. */
export interface WorstCaseInputs {
  timeoutMs: number;
  statementTimeoutMs: number;
  sameMomentWaitMs: number;
  restorePoint: boolean;
}

/**
 * The longest a drill can run before its teardown is done: every bounded wait in pipeline order
 * (sweep, the baseline's statement timeout, the restore point's archiving, the same-moment wait,
 * the `timeout` deadline from creation to the last check, teardown, the final phases). A job's
 * timeout-minutes and the credentials' lifetime must cover it.
 */
export function drillWorstCaseMs(i: WorstCaseInputs): number {
  const restorePoint = i.restorePoint ? Math.min(i.timeoutMs, RESTORE_POINT_ARCHIVED_MS) : 0;
  const beforeDeadline = SWEEP_MS + i.statementTimeoutMs + restorePoint + Math.min(i.sameMomentWaitMs, i.timeoutMs);
  return beforeDeadline + i.timeoutMs + afterDeadlineMs();
}

/** What runs after the `timeout` deadline: closing sessions, teardown, the final phases. */
export function afterDeadlineMs(): number {
  return CLOSE_SESSIONS_MS + TEARDOWN_MS + FINAL_PHASES_MS;
}
