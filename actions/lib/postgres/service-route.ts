// Direct mode reaches a cluster's primary through its `-rw` Service, whose endpoints follow the pod's
// readiness and CNPG's role label only once the EndpointSlice controller and then kube-proxy caught up
// (kubernetes pkg/controller/endpointslice, pkg/proxy: seconds), and a Service's DNS name may lag too.
// A primary checked Ready is therefore not yet reachable through it: retried, bounded, until a session
// there answers as a primary, with an error that says what was seen.
import pg from 'pg';
import { describeError } from '../errors.js';
import { backoffDelay, sleep } from '../kube/retry.js';
import { pgClientConfig } from './client-config.js';
import type { ConnInfo } from './conn-info.js';

/** How long the Service may take to route to the ready primary before direct mode gives up. */
export const SERVICE_ROUTE_TIMEOUT_MS = 30_000;

/** Errors of a Service that routes nowhere yet (or to a pod going away), or of a name not served yet. */
const NOT_ROUTED = new RegExp(
  [
    'ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE',
    'Connection terminated|timeout expired|Query read timeout|starting up|shutting down',
  ].join('|'),
  'i',
);

/**
 * SQLSTATEs of a server that cannot take the session yet (or is going away): admin_shutdown, crash_shutdown and
 * cannot_connect_now, whose messages vary (starting up, shutting down, not yet accepting connections, in
 * recovery mode; PostgreSQL's postmaster.c and backend_startup.c).
 */
const NOT_READY_SQLSTATES = new Set(['57P01', '57P02', '57P03']);

export interface ServiceTarget {
  namespace: string;
  service: string;
  /** The pod the Service should route to (the checked-ready primary). */
  pod: string;
}

/**
 * Why a session through the Service is not (yet) on a primary; undefined when it is, or when a server
 * answered with another error (wrong password, no such database): that is routed, and the session's
 * own connection reports it as before.
 */
async function primaryProblem(conn: ConnInfo, budgetMs: number): Promise<string | undefined> {
  // One attempt keeps to what is left of the bound: its connect, and its query's client-side deadline.
  const ms = Math.max(1, Math.min(5_000, Math.floor(budgetMs)));
  const config = pgClientConfig(conn, {
    applicationName: 'cnpg-actions',
    statementTimeoutMs: ms,
    connectTimeoutMs: ms,
    readOnly: true,
  });
  const client = new pg.Client({ ...config, query_timeout: ms });
  client.on('error', () => {}); // a reset after connecting rejects the pending query instead
  try {
    await client.connect();
    const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    return rows[0]?.standby ? 'it routed to a standby, not to the primary' : undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const notRouted = NOT_READY_SQLSTATES.has(e?.code ?? '') || NOT_ROUTED.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
    return notRouted ? describeError(err) || String(e?.code) : undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Waits until `conn` (the Service's name) reaches a primary; throws after `timeoutMs` with the last problem. */
export async function waitForServiceRoute(
  conn: ConnInfo,
  target: ServiceTarget,
  timeoutMs = SERVICE_ROUTE_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const problem = await primaryProblem(conn, deadline - Date.now());
    if (problem === undefined) return;
    const wait = backoffDelay(attempt, { baseDelayMs: 250, maxDelayMs: 2_000 });
    if (Date.now() + wait > deadline) throw notRouted(conn, target, timeoutMs, problem);
    await sleep(wait);
  }
}

function notRouted(conn: ConnInfo, t: ServiceTarget, timeoutMs: number, problem: string): Error {
  const { namespace, service, pod } = t;
  return new Error(
    `connection-mode direct: the Service ${namespace}/${service} (${conn.host}:${conn.port}) did not reach ` +
      `the ready primary ${pod} within ${Math.round(timeoutMs / 1000)} s (last: ${problem}). A Service routes ` +
      `to a pod only after its endpoints follow the pod's readiness and role label; check ` +
      `kubectl get endpointslices -n ${namespace} -l kubernetes.io/service-name=${service}. A runner outside ` +
      `the cluster's network cannot reach it at all: use connection-mode port-forward there.`,
  );
}
