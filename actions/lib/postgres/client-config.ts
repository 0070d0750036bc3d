// One place that turns a ConnInfo into node-postgres settings, so every session the suite opens
// carries a statement timeout, a lock timeout and a name that says which action opened it, and a
// client-side deadline: a server that vanished (pod gone, port-forward silently dead) cannot
// answer with its statement_timeout, so node-postgres gives up on its own a little later.
import type pg from 'pg';
import type { ConnInfo } from './conn-info.js';

export interface SessionOptions {
  applicationName: string;
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
  /** Sessions that default to read-only transactions (reads of live databases). */
  readOnly?: boolean;
}

/** How long after the server's statement_timeout the client stops waiting for an answer. */
export function clientDeadlineMs(statementTimeoutMs: number): number {
  return Math.floor(statementTimeoutMs) + Math.min(10_000, Math.max(1_000, Math.floor(statementTimeoutMs / 10)));
}

export function pgClientConfig(conn: ConnInfo, opts: SessionOptions): pg.ClientConfig {
  const timeout = Math.max(1, Math.floor(opts.statementTimeoutMs));
  const settings = [`statement_timeout=${timeout}`, `lock_timeout=${timeout}`];
  if (opts.readOnly) settings.unshift('default_transaction_read_only=on');
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl: conn.ssl ?? false,
    application_name: opts.applicationName,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 15_000,
    query_timeout: clientDeadlineMs(timeout),
    keepAlive: true,
    options: settings.map((s) => `-c ${s}`).join(' '),
  };
}
