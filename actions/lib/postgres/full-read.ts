// The restore, read in full: every table counted with count(*), whatever the statistics say.
// A physical restore brings the live catalog with it (reltuples, relpages, statistics), so only
// reading the data files shows what the backup really holds. The sessions let PostgreSQL run a
// large table's scan in parallel (RESTORE_READ_SETTINGS); tables run a few at a time, largest first.
import { messageOf } from '../errors.js';
import { exactCount, type TableCount } from './rowcounts.js';
import { forEachLargestFirst } from './progress.js';
import type { ReadOnlyDb } from './readonly.js';
import type { TableRef } from './schema.js';

/**
 * Session settings of the restore's reading pool: up to 4 parallel workers per scan (PostgreSQL's
 * default is 2), tables from 8 MB up scanned in parallel (min_parallel_table_scan_size's default).
 * Workers come from max_parallel_workers (8 by default), so concurrent scans share them.
 */
export const RESTORE_READ_SETTINGS = { max_parallel_workers_per_gather: 4 } as const;

export interface FullReadOptions {
  concurrency: number;
  /** For the progress lines, e.g. 'restore app: read'. */
  label?: string;
  log?: (line: string) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
  /** Epoch ms: tables not started by then are reported as not counted. */
  deadline?: number;
}

export interface SizedTable extends TableRef {
  bytes: number;
}

/** The main fork's size on disk of each table (the bytes count(*) reads); 0 for a table not found. */
export async function tableSizes(db: ReadOnlyDb, tables: TableRef[]): Promise<SizedTable[]> {
  const rows = await db.query<{ schema: string; name: string; bytes: string }>(
    `SELECT t.schema, t.name, coalesce(pg_relation_size(to_regclass(format('%I.%I', t.schema, t.name))), 0) AS bytes
       FROM unnest($1::text[], $2::text[]) AS t(schema, name)`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, bytes: Number(r.bytes) }));
}

/** Every table counted exactly (method 'exact', source 'count'); a table that fails carries its error. */
export async function readAllRows(db: ReadOnlyDb, tables: TableRef[], opts: FullReadOptions): Promise<TableCount[]> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error(`read concurrency must be a positive integer, got ${opts.concurrency}`);
  if (tables.length === 0) return [];
  const sized = await tableSizes(db, tables);
  const results = new Map<string, TableCount>();
  const key = (t: TableRef) => `${t.schema}\0${t.name}`;
  await forEachLargestFirst(
    sized,
    async (t) => {
      const { count } = await exactCount(db, t);
      results.set(key(t), count);
    },
    (t, why) => results.set(key(t), { schema: t.schema, table: t.name, rows: Number.NaN, method: 'exact', source: 'count', ms: 0, error: why }),
    { concurrency: opts.concurrency, label: opts.label ?? 'restore: read', unit: 'tables', log: opts.log, everyMs: opts.progressEveryMs, signal: opts.signal, deadline: opts.deadline },
  );
  if (opts.signal?.aborted) throw new Error(`reading the restore aborted: ${messageOf(opts.signal.reason ?? 'aborted')}`);
  return tables.map((t) => results.get(key(t))!);
}
