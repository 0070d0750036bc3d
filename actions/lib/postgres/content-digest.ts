// Order-independent digests of every row of a table. A row's digest is 64 bits, computed from its
// stored values where that is exact and from their text form otherwise (content-row.ts; the text
// settings are fixed by content-text.ts); like the bytes it hashes, it depends on the CPU's byte
// order, which a physical restore already requires to be the same. A table's digest is the row
// count plus the exact sum (numeric) of its rows' digests, so the physical order of rows never
// matters and a lost, added or changed row changes it. Both sides digest whole tables, the same
// statement, which PostgreSQL runs as a parallel aggregate (Partial Aggregate under a Gather). Live
// does not sum per key range in that scan: grouped by a range of the key, the planner estimates one
// group per key value (estimate_num_groups in src/backend/utils/adt/selfuncs.c reads the key
// column's n_distinct, -1 for a primary key), so a partial aggregate would not shrink its input and
// the plan stays serial (HashAggregate over a Seq Scan, measured in content.bench.ts), at +30% CPU; a
// table that differs is narrowed afterwards by bisection (content-ranges.ts). Every digest reads
// every heap page: index paths are off in its transaction (SCAN_SETTINGS) and planDigest shows it.
import pLimit from 'p-limit';
import { describeError } from '../errors.js';
import { qualifiedIdent } from './ident.js';
import type { Q, ReadOnlyDb } from './readonly.js';
import type { TableRef } from './schema.js';
import { batchBySize, type SizedTable } from './full-read.js';
import { SCAN_SETTINGS, setLocalSql, TEXT_SETTINGS } from './content-text.js';
import { ROW, rowForms, rowHashSql, type RowForm } from './content-row.js';

export interface TableDigest extends TableRef {
  rows: number;
  /** Sum of the rows' 64-bit digests, as decimal text. */
  sum: string;
  ms: number;
}

/** `work` in one READ ONLY transaction whose opening statement applies TEXT_SETTINGS (and `more`). */
export function inTextSettings<R>(
  db: ReadOnlyDb,
  work: (q: Q) => Promise<R>,
  ...more: Record<string, [string, string]>[]
): Promise<R> {
  return db.transaction(work, 'READ COMMITTED', setLocalSql(TEXT_SETTINGS, ...more));
}

export const tableKey = (t: { schema: string; name: string }) => `${t.schema}\0${t.name}`;

/**
 * One statement digesting every table (`i`, its place in `tables`); several small tables share a
 * statement (UNION ALL), saving a transaction and its round trips each.
 */
export function digestSql(tables: TableRef[], forms: RowForm[]): string {
  return tables
    .map(
      (t, i) =>
        `SELECT ${i} AS i, count(*) AS rows, coalesce(sum(${rowHashSql(forms[i])}), 0)::text AS sum ` +
        `FROM ${qualifiedIdent(t.schema, t.name)} AS ${ROW}`,
    )
    .join(' UNION ALL ');
}

/**
 * `work` with the tables' row forms, then the scan settings: the catalog read comes first, since
 * with index paths off it would scan pg_attribute once per table (minutes on 1,000 tables).
 */
function withForms<R>(db: ReadOnlyDb, tables: TableRef[], work: (q: Q, forms: RowForm[]) => Promise<R>): Promise<R> {
  return inTextSettings(db, async (q) => {
    const forms = await rowForms(q, tables);
    await q(setLocalSql(SCAN_SETTINGS));
    return work(q, forms);
  });
}

/** Digests the tables in one statement (own transaction, text and scan settings fixed); in `tables`' order. */
export async function digestTables(db: ReadOnlyDb, tables: TableRef[]): Promise<TableDigest[]> {
  const started = performance.now();
  const rows = await withForms(db, tables, (q, forms) =>
    q<{ i: number; rows: string; sum: string }>(digestSql(tables, forms)),
  );
  const ms = (performance.now() - started) / tables.length;
  const byI = new Map(rows.map((r) => [Number(r.i), r]));
  return tables.map((t, i) => ({
    schema: t.schema,
    name: t.name,
    rows: Number(byI.get(i)!.rows),
    sum: byI.get(i)!.sum,
    ms,
  }));
}

/** EXPLAIN of the digest statement under the same settings: the plan's node lines, for the log and the bench. */
export async function planDigest(db: ReadOnlyDb, t: TableRef): Promise<string[]> {
  const rows = await withForms(db, [t], (q, forms) =>
    q<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${digestSql([t], forms)}`),
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
export async function tryDigest(db: ReadOnlyDb, t: TableRef): Promise<TableDigest | DigestFailure> {
  try {
    const [d] = await digestTables(db, [t]);
    return d;
  } catch (err) {
    return { schema: t.schema, name: t.name, error: describeError(err) };
  }
}

/**
 * Every table digested, largest first, `concurrency` statements at a time: tables below
 * min_parallel_table_scan_size's default share statements as the full read's do (batchBySize); a
 * batch that fails is digested table by table, so the failing one is named. In `tables`' order.
 */
export async function digestAll(
  db: ReadOnlyDb,
  tables: SizedTable[],
  o: { concurrency: number; signal?: AbortSignal },
): Promise<(TableDigest | DigestFailure)[]> {
  const out = new Map<string, TableDigest | DigestFailure>();
  const ref = (t: SizedTable): TableRef => ({ schema: t.schema, name: t.name });
  const one = async (t: SizedTable) =>
    out.set(tableKey(t), o.signal?.aborted ? { ...ref(t), error: 'aborted' } : await tryDigest(db, ref(t)));
  const limit = pLimit(o.concurrency);
  await Promise.all(
    batchBySize(tables).map((batch) =>
      limit(async () => {
        const digests =
          batch.length > 1 && !o.signal?.aborted
            ? await digestTables(db, batch.map(ref)).catch(() => undefined)
            : undefined;
        if (digests) digests.forEach((d) => out.set(tableKey(d), d));
        else await Promise.all(batch.map(one));
      }),
    ),
  );
  return tables.map((t) => out.get(tableKey(t))!);
}
