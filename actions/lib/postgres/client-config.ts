// One place that turns a ConnInfo into node-postgres settings, so every session the suite opens
// carries a statement timeout, a lock timeout and a name that says which action opened it.
import type pg from 'pg';
import type { ConnInfo } from './conn-info.js';

export interface SessionOptions {
  applicationName: string;
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
  /** Sessions that default to read-only transactions (reads of live databases). */
  readOnly?: boolean;
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
    options: settings.map((s) => `-c ${s}`).join(' '),
  };
}
