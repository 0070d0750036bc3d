// Range digests for narrowing a table that differs (drill/content-bisect.ts): the rows whose
// primary key tuple lies in [lo, hi), compared as a row (ROW(a, b) >= ROW(x, y) is lexicographic),
// each collatable key column in the "C" collation so that both servers order keys alike whatever
// their collation provider. One statement digests every range of a round in one sequential scan
// (SCAN_SETTINGS: never an index, whose entries a damaged heap may not match), each row counted in
// the first range holding it. Key values travel as text written and parsed under TEXT_SETTINGS.
import { qualifiedIdent, quoteIdent } from './ident.js';
import type { TableRef } from './schema.js';
import type { Q } from './readonly.js';
import { ROW, rowHashSql, type RowForm } from './content-row.js';

export interface KeyColumn {
  name: string;
  /** format_type of the column, for casting bound values. */
  type: string;
  collatable: boolean;
}

/** A key range: `lo` inclusive, `hi` exclusive; undefined = unbounded. Values as text, one per key column. */
export interface KeyRange {
  lo?: string[];
  hi?: string[];
}

export interface RangeCount {
  rows: number;
  sum: string;
}

const KEY_COLUMNS_SQL = `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
    a.attcollation <> 0 AS collatable
  FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = to_regclass($1) AND i.indisprimary
 ORDER BY k.n`;

/** The table's primary-key columns in key order; empty without a primary key. */
export async function keyColumns(q: Q, t: TableRef): Promise<KeyColumn[]> {
  return q<KeyColumn>(KEY_COLUMNS_SQL, [qualifiedIdent(t.schema, t.name)]);
}

const colExpr = (c: KeyColumn) => `${ROW}.${quoteIdent(c.name)}${c.collatable ? ' COLLATE "C"' : ''}`;

/** `ROW(a, b)` of the row's key columns, or the column alone for a one-column key. */
function keyTuple(key: KeyColumn[]): string {
  const cols = key.map(colExpr);
  return cols.length === 1 ? cols[0] : `ROW(${cols.join(', ')})`;
}

/** The predicate of `range` in SQL, its bound values appended to `params`. */
export function rangePredicate(key: KeyColumn[], range: KeyRange, params: unknown[]): string {
  const bound = (values: string[]) => {
    const casts = key.map((c, j) => {
      params.push(values[j]);
      return `$${params.length}::${c.type}${c.collatable ? ' COLLATE "C"' : ''}`;
    });
    return casts.length === 1 ? casts[0] : `ROW(${casts.join(', ')})`;
  };
  const parts = [
    ...(range.lo ? [`${keyTuple(key)} >= ${bound(range.lo)}`] : []),
    ...(range.hi ? [`${keyTuple(key)} < ${bound(range.hi)}`] : []),
  ];
  return parts.length ? parts.join(' AND ') : 'true';
}

/** One scan digesting each range (the ranges of a round are disjoint). */
export function rangeDigestSql(
  t: TableRef,
  key: KeyColumn[],
  ranges: KeyRange[],
  form: RowForm,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const preds = ranges.map((r) => rangePredicate(key, r, params));
  const which = `CASE ${preds.map((p, i) => `WHEN ${p} THEN ${i}`).join(' ')} END`;
  return {
    sql:
      `SELECT i, count(*) AS rows, coalesce(sum(h), 0)::text AS sum FROM (SELECT ${which} AS i, ${rowHashSql(form)} AS h ` +
      `FROM ${qualifiedIdent(t.schema, t.name)} AS ${ROW}) s WHERE i IS NOT NULL GROUP BY i`,
    params,
  };
}

/** Rows and digest sum of each range, in `ranges`' order (0 rows: sum '0'). */
export async function rangeDigests(
  q: Q,
  t: TableRef,
  key: KeyColumn[],
  form: RowForm,
  ranges: KeyRange[],
): Promise<RangeCount[]> {
  const { sql, params } = rangeDigestSql(t, key, ranges, form);
  const rows = await q<{ i: number; rows: string; sum: string }>(sql, params);
  const byI = new Map(rows.map((r) => [Number(r.i), r]));
  return ranges.map((_, i) => ({ rows: Number(byI.get(i)?.rows ?? 0), sum: byI.get(i)?.sum ?? '0' }));
}

/** The key of the range's `n`-th row in key order ("C" collation), as text: where to split it. */
export async function nthKey(q: Q, t: TableRef, key: KeyColumn[], range: KeyRange, n: number): Promise<string[]> {
  const params: unknown[] = [];
  const where = rangePredicate(key, range, params);
  params.push(n);
  const rows = await q<{ k: string[] }>(
    `SELECT ARRAY[${key.map((c) => `${colExpr(c)}::text`).join(', ')}] AS k FROM ${qualifiedIdent(t.schema, t.name)} ` +
      `AS ${ROW} WHERE ${where} ORDER BY ${key.map(colExpr).join(', ')} OFFSET $${params.length} LIMIT 1`,
    params,
  );
  if (!rows.length) throw new Error(`no row ${n} in the range`);
  return rows[0].k;
}
