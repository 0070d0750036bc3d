// The suite's error model, one for every action:
// - usage errors (InputError, inputs.ts): bad input, reported as one message, nothing written;
// - verdicts (VerdictError): the action ran and judged, failing with a list of reasons;
// - anything else means the action could not judge: classifyError says which kind (the one place
//   that classifies) and what to do; describeError describes any error in one message.
import { ApiException } from '@kubernetes/client-node';

/** The action (a drill, a gate, a check) ran and judged: failed with these reasons. Not a crash. */
export class VerdictError extends Error {
  constructor(
    readonly reasons: string[],
    message = reasons.join('\n'),
  ) {
    super(message);
    this.name = 'VerdictError';
  }
}

/**
 * Describes any error for a log line, a reason or a summary: a Kubernetes API error as
 * "HTTP 403: <server message>" instead of client-node's dump of body and headers, an Error by its
 * message, anything else as a string.
 */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const msg = (body as { message?: string } | undefined)?.message;
    return `HTTP ${err.code}${msg ? `: ${msg}` : ''}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The same on one line (records and tables). */
export function describeErrorLine(err: unknown): string {
  return describeError(err)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s.slice(0, 300) };
  }
}

/**
 * Why an action could not judge (a drill verdict of 'error', never 'failed'): the one place that
 * classifies errors. The fix is what the user does next; the message (describeError) says what happened.
 */
export type ErrorKind =
  | 'input'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'unreachable'
  | 'rejected'
  | 'timeout'
  | 'cancelled'
  | 'environment'
  | 'internal';

const FIX: Record<ErrorKind, string> = {
  input: "correct the input the message names in the step's `with:` and re-run",
  unauthorized:
    'the credentials were refused (HTTP 401 / password authentication failed): renew the ' +
    'kubeconfig token or certificate in its secret (short-lived tokens expire; mint one in the same ' +
    'job, e.g. aws eks update-kubeconfig, google-github-actions/get-gke-credentials) and re-run',
  forbidden:
    'the identity may not do what the message names: grant it with the Role in ' +
    'workflows/rbac/ (Kubernetes), or the GRANT the message names (PostgreSQL), and re-run',
  'not-found': 'an object the drill reads does not exist (renamed or deleted?): check the names the message gives',
  unreachable:
    "the Kubernetes API or PostgreSQL did not answer, or answered HTTP 5xx: check the kubeconfig's " +
    "server address, DNS, VPN/firewall and authorized networks, and the server's health; then re-run",
  rejected:
    'the API server refused a request as invalid: the message names the object and field; check the cluster spec and the operator version',
  timeout:
    'a step ran out of time: raise the timeout input the message names ' +
    '(timeout, statement-timeout) or re-run when the cluster is less busy',
  cancelled: 'the run was cancelled and tore down what it created: re-run the drill',
  environment: 'the drill met a state it cannot judge (the message says which): fix it and re-run',
  internal:
    'a bug in the drill, not a verdict on the backup: re-run; if it ' +
    "repeats, report it with the stack trace from the log group 'Stack trace'",
};

const NET =
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|CERT_|self[- ]signed|fetch failed/i;
const PROGRAMMING = [TypeError, ReferenceError, RangeError, SyntaxError];

/** The error and its causes, outermost first. */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

function kindOf(e: unknown): ErrorKind | undefined {
  const name = (e as { name?: string })?.name;
  if (name === 'InputError') return 'input';
  if (name === 'Cancelled' || name === 'AbortError') return 'cancelled';
  const status = e instanceof ApiException ? e.code : (e as { statusCode?: unknown })?.statusCode;
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 400 || status === 409 || status === 422) return 'rejected';
  const code = String((e as { code?: unknown })?.code ?? '');
  // PostgreSQL SQLSTATEs: 28P01/28000 authentication, 42501 insufficient privilege, 57014/55P03 timeouts.
  if (code === '28P01' || code === '28000') return 'unauthorized';
  if (code === '42501') return 'forbidden';
  if (code === '57014' || code === '55P03') return 'timeout';
  if (NET.test(`${code} ${(e as { message?: string })?.message ?? ''}`)) return 'unreachable';
  if (typeof status === 'number' && status >= 500) return 'unreachable';
  return undefined;
}

/** Classifies an error the action could not judge past: by the first cause that tells, else a bug or the environment. */
export function classifyError(err: unknown): { kind: ErrorKind; fix: string } {
  const chain = causes(err);
  let kind: ErrorKind | undefined;
  for (const e of chain) if ((kind = kindOf(e))) break;
  kind ??=
    chain.some((e) => PROGRAMMING.some((C) => e instanceof C)) || !(err instanceof Error) ? 'internal' : 'environment';
  return { kind, fix: FIX[kind] };
}

/** The stack of an error and of each of its causes, for the log (never the summary). */
export function errorStack(err: unknown): string {
  return causes(err)
    .map((e, i) => `${i ? 'Caused by: ' : ''}${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    .join('\n');
}
