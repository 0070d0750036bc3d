// The restore, read in full: every table counted with count(*), whatever the statistics say.
// A physical restore brings the live catalog with it (reltuples, relpages, statistics), so only
// reading the data files shows what the backup really holds: every page of every heap and TOAST
// table, sequentially (FULL_READ_PLANNER), large tables in parallel (RESTORE_READ_SETTINGS); tables
// run a few at a time, largest first; small tables are counted many to a statement (round trips,
// not reads, are their cost).
import { describeError } from '../errors.js';
import { displayName, qualifiedIdent } from './ident.js';
import type { TableCount } from './rowcounts.js';
import { forEachLargestFirst } from './progress.js';
import { UNFILTERED_READ_SETTINGS, type ReadOnlyDb } from './readonly.js';
import type { TableRef } from './schema.js';

/**
 * Session settings of the restore's reading pool. row_security off (UNFILTERED_READ_SETTINGS), as on
 * live: a role subject to a policy gets an error, never a silently filtered count. Parallelism: up to 4
 * workers per scan (PostgreSQL's default is 2), tables from 8 MB up (min_parallel_table_scan_size's
 * default); workers come from max_parallel_workers (8 by default), so concurrent scans share them.
 */
export const RESTORE_READ_SETTINGS = { ...UNFILTERED_READ_SETTINGS, max_parallel_workers_per_gather: 4 } as const;

/**
 * The planner of every statement that reads the restore. A count(*) may be answered by an index-only
 * scan over an intact index and an all-visible visibility map without reading one heap page (a heap
 * zeroed in the backup then counts in full), or by an index or bitmap scan that reads only what the
 * index points at: all three are off, so the only path is a (parallel) sequential scan of every heap
 * page, and seqscans are on whatever ALTER DATABASE / ALTER ROLE settings the restore brought from
 * live. Set LOCAL in each reading transaction's opening statement (no extra round trip), not for the
 * session: the schema snapshot's catalog queries need their indexes (4x slower without, measured).
 */
export const FULL_READ_PLANNER = {
  enable_seqscan: 'on',
  enable_indexscan: 'off',
  enable_indexonlyscan: 'off',
  enable_bitmapscan: 'off',
} as const;

const PLANNER_OPENING = `SELECT ${Object.entries(FULL_READ_PLANNER)
  .map(([k, v]) => `set_config('${k}', '${v}', true)`)
  .join(', ')}`;

/** One statement in a READ ONLY transaction whose planner can only read heaps in full. */
export async function fullReadQuery<T extends Record<string, unknown>>(db: ReadOnlyDb, sql: string): Promise<T[]> {
  return db.transaction(async (q) => q<T>(sql), 'READ COMMITTED', PLANNER_OPENING);
}

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
  /** The main fork's size on disk (the bytes count(*) reads). */
  bytes: number;
  /** The table's TOAST table (pg_class.reltoastrelid), read in full too: count(*) never detoasts. */
  toast?: { schema: string; name: string; bytes: number };
}

/** Each table's main fork size and TOAST table; 0 bytes for a table not found (its count then says why). */
export async function tableSizes(db: ReadOnlyDb, tables: TableRef[]): Promise<SizedTable[]> {
  const rows = await db.query<{
    schema: string;
    name: string;
    bytes: string;
    ts: string | null;
    tn: string | null;
    tb: string | null;
  }>(
    `SELECT t.schema, t.name, coalesce(pg_relation_size(c.oid), 0) AS bytes,
            tns.nspname AS ts, tc.relname AS tn, pg_relation_size(tc.oid) AS tb
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(schema, name, i)
       LEFT JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', t.schema, t.name))
       LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
       LEFT JOIN pg_namespace tns ON tns.oid = tc.relnamespace
      ORDER BY t.i`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    bytes: Number(r.bytes),
    ...(r.ts !== null && r.tn !== null && { toast: { schema: r.ts, name: r.tn, bytes: Number(r.tb) } }),
  }));
}

/** One relation to read in full: a table's heap, or its TOAST table's. */
interface Read {
  owner: SizedTable;
  schema: string;
  name: string;
  toast: boolean;
  bytes: number;
}

/** Reads below this (min_parallel_table_scan_size's default: never scanned in parallel) share statements. */
const BATCH_TABLE_MAX_BYTES = 8 * 1024 * 1024;
const BATCH_MAX_TABLES = 50;
const BATCH_MAX_BYTES = 64 * 1024 * 1024;

interface Unit {
  reads: Read[];
  bytes: number;
  n: number;
}

function readsOf(sized: SizedTable[]): Read[] {
  return sized.flatMap((t) => [
    { owner: t, schema: t.schema, name: t.name, toast: false, bytes: t.bytes },
    ...(t.toast ? [{ owner: t, ...t.toast, toast: true }] : []),
  ]);
}

/** Each large item alone; small ones in batches of up to 50 items / 64 MiB; largest first. */
export function batchBySize<T extends { bytes: number }>(items: T[]): T[][] {
  const out: T[][] = [];
  let batch: T[] | undefined;
  let bytes = 0;
  for (const r of [...items].sort((a, b) => b.bytes - a.bytes)) {
    if (r.bytes >= BATCH_TABLE_MAX_BYTES) {
      out.push([r]);
      continue;
    }
    if (!batch || batch.length >= BATCH_MAX_TABLES || bytes + r.bytes > BATCH_MAX_BYTES) {
      out.push((batch = []));
      bytes = 0;
    }
    batch.push(r);
    bytes += r.bytes;
  }
  return out;
}

/** The reads in units (batchBySize); `n` counts tables, not TOAST tables. */
function units(sized: SizedTable[]): Unit[] {
  return batchBySize(readsOf(sized)).map((reads) => ({
    reads,
    bytes: reads.reduce((n, r) => n + r.bytes, 0),
    n: reads.filter((r) => !r.toast).length,
  }));
}

/** The statement that reads a unit: one count(*) per relation, UNION ALL'd for a batch. */
function unitSql(u: Unit): string {
  return u.reads
    .map((r, i) => `SELECT ${i} AS i, count(*) AS n FROM ${qualifiedIdent(r.schema, r.name)}`)
    .join(' UNION ALL ');
}

interface ReadCount {
  read: Read;
  rows: number;
  ms: number;
  error?: string;
}

/** One statement for a unit; should a batch fail, each relation alone, so the failing one is named. */
async function countUnit(db: ReadOnlyDb, u: Unit): Promise<ReadCount[]> {
  if (u.reads.length > 1) {
    const started = performance.now();
    try {
      const rows = await fullReadQuery<{ i: number; n: string }>(db, unitSql(u));
      const ms = (performance.now() - started) / u.reads.length;
      return rows.map((r) => ({ read: u.reads[r.i], rows: Number(r.n), ms }));
    } catch {
      /* counted one by one below */
    }
  }
  const out: ReadCount[] = [];
  for (const read of u.reads) {
    const started = performance.now();
    try {
      const [row] = await fullReadQuery<{ n: string }>(
        db,
        `SELECT count(*) AS n FROM ${qualifiedIdent(read.schema, read.name)}`,
      );
      out.push({ read, rows: Number(row.n), ms: performance.now() - started });
    } catch (err) {
      out.push({ read, rows: Number.NaN, ms: performance.now() - started, error: describeError(err) });
    }
  }
  return out;
}

const key = (schema: string, name: string) => `${schema}\0${name}`;

/** A table's count from its heap read; an unreadable TOAST table makes the table's count an error. */
function fold(t: TableRef, reads: ReadCount[]): TableCount {
  const heap = reads.find((r) => !r.read.toast);
  const toast = reads.find((r) => r.read.toast && r.error !== undefined);
  const error =
    heap?.error ??
    (toast && `TOAST table ${displayName(toast.read.schema, toast.read.name)} unreadable: ${toast.error}`);
  const ms = reads.reduce((n, r) => n + r.ms, 0);
  const base = { schema: t.schema, table: t.name, method: 'exact', source: 'count', ms } as const;
  if (error !== undefined || !heap) return { ...base, rows: Number.NaN, error: error ?? 'not read' };
  return { ...base, rows: heap.rows };
}

/**
 * Every table counted exactly (method 'exact', source 'count') by reading every page of its heap and
 * of its TOAST table; a table that fails (its heap or its TOAST table unreadable) carries its error.
 */
export async function readAllRows(db: ReadOnlyDb, tables: TableRef[], opts: FullReadOptions): Promise<TableCount[]> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
    throw new Error(`read concurrency must be a positive integer, got ${opts.concurrency}`);
  if (tables.length === 0) return [];
  const byOwner = new Map<string, ReadCount[]>();
  const add = (c: ReadCount) => {
    const k = key(c.read.owner.schema, c.read.owner.name);
    byOwner.set(k, [...(byOwner.get(k) ?? []), c]);
  };
  await forEachLargestFirst(
    units(await tableSizes(db, tables)),
    async (u) => (await countUnit(db, u)).forEach(add),
    (u, why) => u.reads.forEach((read) => add({ read, rows: Number.NaN, ms: 0, error: why })),
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
  return tables.map((t) => fold(t, byOwner.get(key(t.schema, t.name)) ?? []));
}

export interface ReadPlan {
  /** The relations one statement reads. */
  relations: string[];
  /** Every plan node of it, depth first, e.g. "Parallel Seq Scan on ledger". */
  nodes: string[];
}

interface PlanNode {
  'Node Type': string;
  'Parallel Aware'?: boolean;
  'Partial Mode'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** As EXPLAIN's text format names nodes: "Parallel Seq Scan on ledger", "Finalize Aggregate". */
const flatten = (n: PlanNode): string[] => [
  [
    n['Partial Mode'] && n['Partial Mode'] !== 'Simple' ? n['Partial Mode'] : '',
    n['Parallel Aware'] ? 'Parallel' : '',
    n['Node Type'],
    n['Relation Name'] ? `on ${n['Relation Name']}` : '',
  ]
    .filter(Boolean)
    .join(' '),
  ...(n.Plans ?? []).flatMap(flatten),
];

/** EXPLAIN of every statement the full read of `tables` runs on `db`, under its planner settings. */
export async function explainRead(db: ReadOnlyDb, tables: TableRef[]): Promise<ReadPlan[]> {
  const out: ReadPlan[] = [];
  for (const u of units(await tableSizes(db, tables))) {
    const [row] = await fullReadQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      db,
      `EXPLAIN (FORMAT JSON) ${unitSql(u)}`,
    );
    out.push({
      relations: u.reads.map((r) => displayName(r.schema, r.name)),
      nodes: flatten(row['QUERY PLAN'][0].Plan),
    });
  }
  return out;
}

/** Plan nodes that read what an index or the visibility map says instead of every heap page. */
export const NOT_A_FULL_READ = /Index|Bitmap|Tid/;
