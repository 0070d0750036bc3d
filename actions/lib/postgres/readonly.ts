// The only way the suite reads a live database: every statement runs inside
// BEGIN READ ONLY with a statement timeout, on sessions that also default to read-only,
// so a mistake in a query can never write and never hold locks for long.
import pg from 'pg';
import { pgClientConfig } from './client-config.js';
import { withTransportReason, type ConnInfo } from './conn-info.js';

export interface ReadOnlyOptions {
  statementTimeoutMs: number;
  /** Concurrent sessions (bounded pool for per-table counts). */
  poolSize?: number;
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Extra session settings (e.g. parallel query settings for a full read of a restore). */
  settings?: Record<string, string | number>;
  /** Epoch ms: no statement starts after it, and none runs past it (its timeout shrinks to fit). */
  deadline?: number;
  /** An exported snapshot (pg_export_snapshot) every transaction reads in (REPEATABLE READ). */
  snapshot?: string;
}

/**
 * Session settings of every drill session that reads rows, on live and on the restore: row_security
 * off, so where a row-level security policy applies to the role PostgreSQL refuses the read (42501,
 * "query would be affected by row-level security policy") instead of filtering it; superusers, BYPASSRLS
 * roles and table owners (without FORCE ROW LEVEL SECURITY) read every row either way.
 */
export const UNFILTERED_READ_SETTINGS = { row_security: 'off' } as const;

/** A query inside one of ReadOnlyDb's transactions. */
export type Q = <T extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params?: unknown[],
) => Promise<T[]>;

export class ReadOnlyDb {
  private readonly pool: pg.Pool;

  constructor(
    readonly conn: ConnInfo,
    private readonly opts: ReadOnlyOptions,
  ) {
    const config = pgClientConfig(conn, {
      applicationName: opts.applicationName ?? 'cnpg-actions',
      statementTimeoutMs: opts.statementTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      readOnly: true,
    });
    for (const [k, v] of Object.entries(opts.settings ?? {})) {
      if (!/^[a-z_]+$/.test(k) || !/^[A-Za-z0-9_.]+$/.test(String(v)))
        throw new Error(`invalid session setting ${k}=${v}`);
      config.options = `${config.options ?? ''} -c ${k}=${v}`.trim();
    }
    this.pool = new pg.Pool({ ...config, max: opts.poolSize ?? 4 });
    this.pool.on('error', () => {
      /* idle client errors surface on the next query */
    });
  }

  /** One statement in its own READ ONLY transaction. */
  async query<T extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    return this.transaction(async (q) => q<T>(sql, params));
  }

  /** Several statements in one READ ONLY transaction (a consistent snapshot with REPEATABLE READ). */
  async transaction<R>(
    fn: (q: Q, opened?: Record<string, unknown>[]) => Promise<R>,
    isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
    opening = 'SELECT 1',
  ): Promise<R> {
    const timeoutMs = this.timeoutMs();
    const { snapshot } = this.opts;
    if (snapshot !== undefined && !/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(snapshot))
      throw new Error(`invalid snapshot id ${snapshot}`);
    const importing = snapshot ? ` SET TRANSACTION SNAPSHOT '${snapshot}';` : '';
    const client = await this.pool.connect().catch((err) => {
      throw withTransportReason(this.conn, err);
    });
    let broken: unknown;
    // pg-pool listens for 'error' only on idle clients: a connection lost while checked out
    // would otherwise be an uncaught exception (the query itself rejects with the error).
    const onLost = (err: Error) => (broken ??= err);
    client.on('error', onLost);
    try {
      // One round trip for our own statements. The opening statement takes the transaction's
      // snapshot, after which Postgres refuses SET TRANSACTION READ WRITE; the extended protocol
      // below runs exactly one statement per call, so no caller's SQL can smuggle in a second one.
      const level = snapshot ? 'REPEATABLE READ' : isolation;
      const res = (await client.query(
        `BEGIN TRANSACTION ISOLATION LEVEL ${level} READ ONLY;${importing} SET LOCAL statement_timeout = ${timeoutMs}; ${opening}`,
      )) as unknown as pg.QueryResult[];
      const opened = (Array.isArray(res) ? res.at(-1)?.rows : (res as pg.QueryResult).rows) ?? [];
      const result = await fn(async (sql, params = []) => {
        // queryMode is honoured by pg 8.x but missing from @types/pg.
        const config = { text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig;
        return (await client.query(config)).rows;
      }, opened);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A client-side deadline or a dropped connection leaves the session unusable: discard it
      // (a ROLLBACK would only queue behind the unanswered query).
      if (isConnectionLost(err)) broken = err;
      else await client.query('ROLLBACK').catch(() => {});
      throw withTransportReason(this.conn, err);
    } finally {
      client.removeListener('error', onLost);
      client.release(broken as Error | undefined);
    }
  }

  /** The statement timeout for a transaction starting now: the configured one, cut to the deadline. */
  private timeoutMs(): number {
    const { statementTimeoutMs, deadline } = this.opts;
    if (deadline === undefined) return Math.floor(statementTimeoutMs);
    const left = Math.floor(deadline - Date.now());
    if (left < 1) throw new DeadlineExceeded();
    return Math.min(Math.floor(statementTimeoutMs), left);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Errors after which the session cannot be trusted with another statement. */
function isConnectionLost(err: unknown): boolean {
  const msg = (err as Error)?.message ?? '';
  return (
    /Query read timeout|Connection terminated|ECONNRESET|EPIPE|not queryable|ended|closed/i.test(msg) ||
    !(err as { code?: string })?.code
  );
}

export class DeadlineExceeded extends Error {
  constructor() {
    super('the deadline passed before this statement could start');
    this.name = 'DeadlineExceeded';
  }
}
