// The restore, read in full: every table counted with count(*), whatever the statistics say.
// A physical restore brings the live catalog with it (reltuples, relpages, statistics), so only
// reading the data files shows what the backup really holds. The sessions let PostgreSQL run a
// large table's scan in parallel (RESTORE_READ_SETTINGS); tables run a few at a time, largest first;
// small tables are counted many to a statement (round trips, not reads, are their cost).
import { describeError } from '../errors.js';
import { qualifiedIdent } from './ident.js';
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

/** Tables below this (min_parallel_table_scan_size's default: never scanned in parallel) share statements. */
const BATCH_TABLE_MAX_BYTES = 8 * 1024 * 1024;
const BATCH_MAX_TABLES = 50;
const BATCH_MAX_BYTES = 64 * 1024 * 1024;

interface Unit {
  tables: SizedTable[];
  bytes: number;
  n: number;
}

/** Each large table alone; small ones in batches of up to 50 tables / 64 MiB. */
function units(sized: SizedTable[]): Unit[] {
  const out: Unit[] = [];
  let batch: Unit | undefined;
  for (const t of [...sized].sort((a, b) => b.bytes - a.bytes)) {
    if (t.bytes >= BATCH_TABLE_MAX_BYTES) {
      out.push({ tables: [t], bytes: t.bytes, n: 1 });
      continue;
    }
    if (!batch || batch.n >= BATCH_MAX_TABLES || batch.bytes + t.bytes > BATCH_MAX_BYTES)
      out.push((batch = { tables: [], bytes: 0, n: 0 }));
    batch.tables.push(t);
    batch.bytes += t.bytes;
    batch.n++;
  }
  return out;
}

/** One statement for a batch; should it fail, each table alone, so the failing one is named. */
async function countUnit(db: ReadOnlyDb, u: Unit): Promise<TableCount[]> {
  if (u.tables.length > 1) {
    const started = performance.now();
    try {
      const sql = u.tables
        .map((t, i) => `SELECT ${i} AS i, count(*) AS n FROM ${qualifiedIdent(t.schema, t.name)}`)
        .join(' UNION ALL ');
      const rows = await db.query<{ i: number; n: string }>(sql);
      const ms = (performance.now() - started) / u.tables.length;
      return rows.map((r) => ({
        schema: u.tables[r.i].schema,
        table: u.tables[r.i].name,
        rows: Number(r.n),
        method: 'exact',
        source: 'count',
        ms,
      }));
    } catch {
      /* counted one by one below */
    }
  }
  const out: TableCount[] = [];
  for (const t of u.tables) out.push((await exactCount(db, t)).count);
  return out;
}

/** Every table counted exactly (method 'exact', source 'count'); a table that fails carries its error. */
export async function readAllRows(db: ReadOnlyDb, tables: TableRef[], opts: FullReadOptions): Promise<TableCount[]> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
    throw new Error(`read concurrency must be a positive integer, got ${opts.concurrency}`);
  if (tables.length === 0) return [];
  const results = new Map<string, TableCount>();
  const key = (schema: string, name: string) => `${schema}\0${name}`;
  await forEachLargestFirst(
    units(await tableSizes(db, tables)),
    async (u) => {
      for (const c of await countUnit(db, u)) results.set(key(c.schema, c.table), c);
    },
    (u, why) => {
      for (const t of u.tables)
        results.set(key(t.schema, t.name), {
          schema: t.schema,
          table: t.name,
          rows: Number.NaN,
          method: 'exact',
          source: 'count',
          ms: 0,
          error: why,
        });
    },
    {
      concurrency: opts.concurrency,
      label: opts.label ?? 'restore: read',
      unit: 'tables',
      log: opts.log,
      everyMs: opts.progressEveryMs,
      signal: opts.signal,
      deadline: opts.deadline,
    },
  );
  if (opts.signal?.aborted)
    throw new Error(`reading the restore aborted: ${describeError(opts.signal.reason ?? 'aborted')}`);
  return tables.map((t) => results.get(key(t.schema, t.name))!);
}
