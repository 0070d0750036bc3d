// The only way the suite reads a live database: every statement runs inside
// BEGIN READ ONLY with a statement timeout, on sessions that also default to read-only,
// so a mistake in a query can never write and never hold locks for long.
import pg from 'pg';
import { pgClientConfig } from './client-config.js';
import type { ConnInfo } from './conn-info.js';

export interface ReadOnlyOptions {
  statementTimeoutMs: number;
  /** Concurrent sessions (bounded pool for per-table counts). */
  poolSize?: number;
  applicationName?: string;
  connectTimeoutMs?: number;
}

export class ReadOnlyDb {
  private readonly pool: pg.Pool;

  constructor(
    readonly conn: ConnInfo,
    private readonly opts: ReadOnlyOptions,
  ) {
    this.pool = new pg.Pool({
      ...pgClientConfig(conn, {
        applicationName: opts.applicationName ?? 'cnpg-actions',
        statementTimeoutMs: opts.statementTimeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs,
        readOnly: true,
      }),
      max: opts.poolSize ?? 4,
    });
    this.pool.on('error', () => {
      /* idle client errors surface on the next query */
    });
  }

  /** One statement in its own READ ONLY transaction. */
  async query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.transaction(async (q) => q<T>(sql, params));
  }

  /** Several statements in one READ ONLY transaction (a consistent snapshot with REPEATABLE READ). */
  async transaction<R>(
    fn: (q: <T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>) => Promise<R>,
    isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
  ): Promise<R> {
    const client = await this.pool.connect();
    try {
      await client.query(`BEGIN TRANSACTION ISOLATION LEVEL ${isolation} READ ONLY`);
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(this.opts.statementTimeoutMs)}`);
      // Takes the transaction's snapshot, after which Postgres refuses SET TRANSACTION READ WRITE;
      // the extended protocol below runs exactly one statement per call, so no caller's SQL can
      // smuggle in a second statement.
      await client.query('SELECT 1');
      const result = await fn(async (sql, params = []) => {
        // queryMode is honoured by pg 8.x but missing from @types/pg.
        const config = { text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig;
        return (await client.query(config)).rows;
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
