// Order-independent digests of every row of a table, and of key ranges of it. A row's digest is
// hashtextextended (64 bits) of its text form (content-text.ts fixes the settings that shape it)
// in the "C" collation, so the hash is of the bytes (a nondeterministic collation would hash
// equal-comparing strings alike); it is 3x cheaper than md5 and, like the bytes it hashes,
// depends on the CPU's byte order, which a physical restore already requires to be the same. A
// table's digest is the row count plus the exact sum (numeric) of its rows' digests, so the
// physical order of rows never matters and a lost, added or changed row changes it. Live's scan
// also sums per key range (width_bucket over the leading primary-key column, bounded by the
// table's pg_stats histogram, ordered in the "C" collation), so that a table that differs can be
// narrowed to the ranges that differ once live's snapshot is gone; the restore digests whole
// tables (a plan PostgreSQL runs in parallel) and by range only the tables that differ. Every
// digest reads every heap page: index paths are off in its transaction (SCAN_SETTINGS) and
// planDigest shows the plan.
import { describeError } from '../errors.js';
import { qualifiedIdent, quoteIdent } from './ident.js';
import type { ReadOnlyDb } from './readonly.js';
import type { TableRef } from './schema.js';
import { SCAN_SETTINGS, setLocalSql, TEXT_SETTINGS } from './content-text.js';

/** The leading primary-key column, and the range bounds of its values (pg_stats histogram). */
export interface KeyRanges {
  column: string;
  /** format_type of the column, for casting the bounds. */
  type: string;
  collatable: boolean;
  /** Bounds as a PostgreSQL array literal (sorted in "C" order for collatable keys); undefined: no statistics. */
  literal?: string;
  /** The same bounds as text, for the report. */
  bounds?: string[];
}

export interface RangeDigest {
  /** width_bucket: 0 = below bounds[0], i = [bounds[i-1], bounds[i]), bounds.length = from the last bound up. */
  bucket: number;
  rows: number;
  sum: string;
}

export interface TableDigest extends TableRef {
  rows: number;
  /** Sum of the rows' 64-bit digests, as decimal text. */
  sum: string;
  ranges: RangeDigest[];
  ms: number;
}

/** Row alias in the digest query: a name no real column is likely to have (t::text would read a column named t). */
const ROW = '__cnpg_drill_row__';

const KEYS_SQL = `SELECT t.schema, t.name, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
    a.attcollation <> 0 AS collatable, s.histogram_bounds::text AS bounds, s.histogram_bounds::text::text[] AS list
  FROM unnest($1::text[], $2::text[]) AS t(schema, name)
  JOIN pg_namespace n ON n.nspname = t.schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
  JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
  LEFT JOIN pg_stats s ON s.schemaname = t.schema AND s.tablename = t.name AND s.attname = a.attname
                      AND NOT s.inherited`;

/** The leading key column and its ranges of each table that has a primary key (live, in the snapshot). */
export async function keyRanges(db: ReadOnlyDb, tables: TableRef[]): Promise<Map<string, KeyRanges>> {
  // Bounds are written and later parsed (on both sides) under the same text settings: a timestamp
  // written in one DateStyle and read in another would move the ranges.
  const rows = await inTextSettings(db, (q) =>
    q<{
      schema: string;
      name: string;
      column: string;
      type: string;
      collatable: boolean;
      bounds: string | null;
      list: string[] | null;
    }>(KEYS_SQL, [tables.map((t) => t.schema), tables.map((t) => t.name)]),
  );
  const out = new Map<string, KeyRanges>();
  for (const r of rows) {
    const k: KeyRanges = { column: r.column, type: r.type, collatable: r.collatable };
    // The histogram is sorted in the type's order: the bounds as they are, except for collatable keys,
    // which are re-sorted in "C" (one statement each; most keys are integers, uuids, timestamps).
    if (r.bounds && r.list && !r.collatable) Object.assign(k, { literal: r.bounds, bounds: r.list });
    else if (r.bounds) Object.assign(k, await sortedBounds(db, r.bounds, r.type).catch(() => ({})));
    out.set(tableKey(r), k);
  }
  return out;
}

/** The histogram re-sorted in the "C" collation (it is sorted in the column's), as literal and as text. */
async function sortedBounds(
  db: ReadOnlyDb,
  literal: string,
  type: string,
): Promise<{ literal: string; bounds: string[] }> {
  const order = 'b COLLATE "C"';
  const [r] = await inTextSettings(db, (q) =>
    q<{ literal: string; bounds: string[] }>(
      `SELECT array_agg(b ORDER BY ${order})::text AS literal, array_agg(b::text ORDER BY ${order}) AS bounds
       FROM unnest($1::text::${type}[]) AS b`,
      [literal],
    ),
  );
  return r;
}

type Q = Parameters<Parameters<ReadOnlyDb['transaction']>[0]>[0];

/** `work` in one READ ONLY transaction with TEXT_SETTINGS (and `more`) applied. */
function inTextSettings<R>(db: ReadOnlyDb, work: (q: Q) => Promise<R>, ...more: Record<string, [string, string]>[]) {
  return db.transaction(async (q): Promise<R> => {
    await q(setLocalSql(TEXT_SETTINGS, ...more));
    return work(q);
  });
}

export const tableKey = (t: { schema: string; name: string }) => `${t.schema}\0${t.name}`;

/** The digest statement of one table: per key range when `key` has bounds, else one range (bucket 0). */
export function digestSql(t: TableRef, key: KeyRanges | undefined): { sql: string; params: unknown[] } {
  const hash = `hashtextextended(${ROW}::text COLLATE "C", 0)`;
  const ranged = key?.literal !== undefined;
  const keyExpr = ranged ? `${ROW}.${quoteIdent(key.column)}${key.collatable ? ' COLLATE "C"' : ''}` : '';
  // A parameter typed as the array: parsed once at bind (a cast from text would parse it for every row).
  const bucket = ranged ? `width_bucket(${keyExpr}, $1::${key.type}[])` : '0';
  return {
    sql: `SELECT ${bucket} AS bucket, count(*) AS rows, coalesce(sum(${hash}), 0)::text AS sum
            FROM ${qualifiedIdent(t.schema, t.name)} AS ${ROW}${ranged ? ' GROUP BY 1' : ''}`,
    params: ranged ? [key.literal] : [],
  };
}

/** Digests one table in its own transaction with the text and scan settings fixed. */
export async function digestTable(db: ReadOnlyDb, t: TableRef, key: KeyRanges | undefined): Promise<TableDigest> {
  const started = performance.now();
  const { sql, params } = digestSql(t, key);
  const rows = await inTextSettings(
    db,
    (q) => q<{ bucket: number; rows: string; sum: string }>(sql, params),
    SCAN_SETTINGS,
  );
  const ranges = rows
    .map((r) => ({ bucket: Number(r.bucket), rows: Number(r.rows), sum: r.sum }))
    .sort((a, b) => a.bucket - b.bucket);
  const total = ranges.reduce((n, r) => n + BigInt(r.sum), 0n);
  return {
    schema: t.schema,
    name: t.name,
    rows: ranges.reduce((n, r) => n + r.rows, 0),
    sum: total.toString(),
    ranges,
    ms: performance.now() - started,
  };
}

/** EXPLAIN of the digest statement under the same settings: the plan's node lines, for the log and the bench. */
export async function planDigest(db: ReadOnlyDb, t: TableRef, key: KeyRanges | undefined): Promise<string[]> {
  const { sql, params } = digestSql(t, key);
  const rows = await inTextSettings(
    db,
    (q) => q<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`, params),
    SCAN_SETTINGS,
  );
  return rows.map((r) => r['QUERY PLAN']);
}

/** True when the plan reads the table only by sequential scans (parallel or not). */
export function readsEveryPage(plan: string[]): boolean {
  const scans = plan.filter((l) => /Scan/.test(l));
  return scans.length > 0 && scans.every((l) => /Seq Scan/.test(l));
}

export interface DigestFailure extends TableRef {
  error: string;
}

/** Digest, or why not (permission, a type, the statement timeout): never a throw. */
export async function tryDigest(
  db: ReadOnlyDb,
  t: TableRef,
  key: KeyRanges | undefined,
): Promise<TableDigest | DigestFailure> {
  try {
    return await digestTable(db, t, key);
  } catch (err) {
    return { schema: t.schema, name: t.name, error: describeError(err) };
  }
}
