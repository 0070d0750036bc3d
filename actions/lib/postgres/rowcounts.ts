// Row counts of many tables: exact (count(*) per table through a bounded pool), estimate
// (one catalog query for all tables: pg_stat_user_tables.n_live_tup where the statistics have a
// base, else pg_class.reltuples), or auto (exact below a size, else estimate).
// A table that fails (statement timeout, dropped meanwhile) yields an `error`, never a crash.
import pLimit from 'p-limit';
import { qualifiedIdent } from './ident.js';
import { describeLock, exclusiveLocks, isTimeout } from './locks.js';
import type { ReadOnlyDb } from './readonly.js';
import type { TableRef } from './schema.js';
import { describeError } from '../errors.js';

export type CountMode = 'exact' | 'estimate' | 'auto';
export type CountSource = 'count' | 'n_live_tup' | 'reltuples';

export interface TableCount {
  schema: string;
  table: string;
  /** NaN when `error` is set. */
  rows: number;
  method: 'exact' | 'estimate';
  /** Where the figure comes from: count(*), or which statistic an estimate was read from. */
  source?: CountSource;
  /** Time to obtain this count; for estimates the one catalog query's time shared across its tables. */
  ms: number;
  error?: string;
  /** The SQLSTATE when PostgreSQL refused the count (42501: the role may not read the table). */
  code?: string;
}

export interface CountOptions {
  mode: CountMode;
  /** Exact counts running at once; give the ReadOnlyDb the same poolSize. */
  concurrency: number;
  /** auto: tables whose main fork (pg_relation_size) is below this are counted exactly. Default 256 MiB. */
  autoExactMaxBytes?: number;
  /** Stops starting new counts; counts already running end by their statement timeout. */
  signal?: AbortSignal;
}

export const DEFAULT_AUTO_EXACT_MAX_BYTES = 256 * 1024 * 1024;

interface TableStats {
  schema: string;
  name: string;
  reltuples: number;
  /** pg_stat_user_tables.n_live_tup, null when the statistics have no base (see statsSql). */
  live_tup: number | null;
  size: number;
}

// Values as parameters (two parallel arrays), never spliced. pg_relation_size waits for a table held
// ACCESS EXCLUSIVE (and would time out the whole query), so such tables are sized from relpages, and
// a retry sizes every table from relpages should a lock appear between the two reads.
// n_live_tup is kept current by every insert and delete, but it counts from zero after a
// statistics reset (or a crash) until VACUUM or ANALYZE sets it from a scan; so it is used only
// when one of those ran since the statistics began (its timestamp survives exactly as long).
function statsSql(sizeFromRelpagesOnly: boolean): string {
  const relpagesBytes = `c.relpages::float8 * current_setting('block_size')::float8`;
  const size = sizeFromRelpagesOnly
    ? relpagesBytes
    : `CASE WHEN c.oid IN (SELECT relation FROM locked) THEN ${relpagesBytes} ELSE pg_relation_size(c.oid)::float8 END`;
  return `WITH locked AS MATERIALIZED (
      SELECT l.relation FROM pg_locks l
       WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
    SELECT t.schema, t.name, c.reltuples::float8 AS reltuples, ${size} AS size,
           CASE WHEN coalesce(s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze) IS NOT NULL
                THEN s.n_live_tup::float8 END AS live_tup
      FROM unnest($1::text[], $2::text[]) AS t(schema, name)
      JOIN pg_namespace n ON n.nspname = t.schema
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.name AND c.relkind IN ('r', 'p', 'm')
      LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid`;
}

const key = (schema: string, name: string) => `${schema}\0${name}`;

export async function exactCount(db: ReadOnlyDb, t: TableRef): Promise<{ count: TableCount; timedOut: boolean }> {
  const started = performance.now();
  try {
    const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualifiedIdent(t.schema, t.name)}`);
    const count: TableCount = {
      schema: t.schema,
      table: t.name,
      rows: Number(row.n),
      method: 'exact',
      source: 'count',
      ms: performance.now() - started,
    };
    return { count, timedOut: false };
  } catch (err) {
    const count = failed(t, 'exact', performance.now() - started, describeError(err));
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string') count.code = code;
    return { count, timedOut: isTimeout(err) };
  }
}

/** Say which timed-out tables were blocked by another session's ACCESS EXCLUSIVE lock. */
async function explainTimeouts(db: ReadOnlyDb, counts: TableCount[]): Promise<void> {
  const locks = await exclusiveLocks(db);
  for (const c of counts) {
    const lock = locks.find((l) => l.schema === c.schema && l.name === c.table);
    if (lock) c.error = `${c.error} (${describeLock(lock)})`;
  }
}

function estimateOf(t: TableRef, s: TableStats, ms: number): TableCount {
  const fromStats = s.live_tup !== null;
  const rows = Math.round(fromStats ? s.live_tup! : s.reltuples);
  return {
    schema: t.schema,
    table: t.name,
    rows,
    method: 'estimate',
    source: fromStats ? 'n_live_tup' : 'reltuples',
    ms,
  };
}

function failed(t: TableRef, method: TableCount['method'], ms: number, error: string): TableCount {
  return { schema: t.schema, table: t.name, rows: Number.NaN, method, ms, error };
}

export async function countRows(db: ReadOnlyDb, tables: TableRef[], opts: CountOptions): Promise<TableCount[]> {
  if (!['exact', 'estimate', 'auto'].includes(opts.mode)) throw new Error(`unknown count mode '${opts.mode}'`);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new Error(`count concurrency must be a positive integer, got ${opts.concurrency}`);
  }
  if (tables.length === 0) return [];

  const results = new Map<string, TableCount>();
  const toCountExactly: TableRef[] = [];

  if (opts.mode === 'exact') {
    toCountExactly.push(...tables);
  } else {
    const maxExact = opts.autoExactMaxBytes ?? DEFAULT_AUTO_EXACT_MAX_BYTES;
    const started = performance.now();
    const names = [tables.map((t) => t.schema), tables.map((t) => t.name)];
    let stats: TableStats[];
    try {
      stats = await db
        .query<TableStats>(statsSql(false), names)
        .catch((err: unknown) => (isTimeout(err) ? db.query<TableStats>(statsSql(true), names) : Promise.reject(err)));
    } catch (err) {
      const ms = performance.now() - started;
      return tables.map((t) => failed(t, 'estimate', ms, `reading pg_class statistics: ${describeError(err)}`));
    }
    const ms = (performance.now() - started) / tables.length;
    const byKey = new Map(stats.map((s) => [key(s.schema, s.name), s]));
    for (const t of tables) {
      const s = byKey.get(key(t.schema, t.name));
      if (!s) results.set(key(t.schema, t.name), failed(t, 'estimate', ms, 'table not found'));
      // reltuples -1 and no tracked n_live_tup: never vacuumed or analyzed, so there is no estimate; count it.
      else if ((s.live_tup === null && s.reltuples < 0) || (opts.mode === 'auto' && s.size < maxExact))
        toCountExactly.push(t);
      else results.set(key(t.schema, t.name), estimateOf(t, s, ms));
    }
  }

  const limit = pLimit(opts.concurrency);
  const timedOut: TableCount[] = [];
  await Promise.all(
    toCountExactly.map((t) =>
      limit(async () => {
        if (opts.signal?.aborted) return;
        const { count, timedOut: late } = await exactCount(db, t);
        results.set(key(t.schema, t.name), count);
        if (late) timedOut.push(count);
      }),
    ),
  );
  if (opts.signal?.aborted) throw new Error(`row counting aborted: ${describeError(opts.signal.reason ?? 'aborted')}`);
  if (timedOut.length) await explainTimeouts(db, timedOut);
  return tables.map((t) => results.get(key(t.schema, t.name))!);
}
