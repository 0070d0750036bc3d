// Baseline (live) and comparison (restored) of one database: schema snapshot of every user
// schema plus every table's row count, judged per compareCounts' tolerance.
import { compareCounts } from '../postgres/compare-counts.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { countRows, type CountMode, type TableCount } from '../postgres/rowcounts.js';
import { diffSchemas, snapshotSchema, userTables, type SchemaSnapshot } from '../postgres/schema.js';
import type { DatabaseComparison } from './result.js';

export interface CountSettings {
  mode: CountMode;
  concurrency: number;
  tolerance: number;
  floor: number;
  signal?: AbortSignal;
}

export interface Baseline {
  database: string;
  schema: SchemaSnapshot;
  counts: TableCount[];
}

export async function takeBaseline(db: ReadOnlyDb, database: string, s: CountSettings): Promise<Baseline> {
  const schema = await snapshotSchema(db);
  const counts = await countRows(db, userTables(schema), { mode: s.mode, concurrency: s.concurrency, signal: s.signal });
  return { database, schema, counts };
}

export async function compareWithRestore(restored: ReadOnlyDb, base: Baseline, s: CountSettings): Promise<DatabaseComparison> {
  const schema = await snapshotSchema(restored);
  const present = new Set(userTables(schema).map((t) => `${t.schema}\0${t.name}`));
  // Count the live tables the restore has (a missing one is already a schema difference), plus its extras.
  const tables = [
    ...userTables(base.schema).filter((t) => present.has(`${t.schema}\0${t.name}`)),
    ...userTables(schema).filter((t) => !base.counts.some((c) => c.schema === t.schema && c.table === t.name)),
  ];
  const counts = await countRows(restored, tables, { mode: s.mode, concurrency: s.concurrency, signal: s.signal });
  const comparisons = compareCounts(base.counts, counts, { tolerance: s.tolerance, floor: s.floor });
  const all = [...base.counts, ...counts];
  return {
    database: base.database,
    tablesCompared: comparisons.length,
    schemaDifferences: diffSchemas(base.schema, schema),
    outOfTolerance: comparisons.filter((c) => !c.within),
    counts: comparisons,
    countMethods: { exact: all.filter((c) => c.method === 'exact').length, estimate: all.filter((c) => c.method === 'estimate').length },
  };
}

/** One verdict line per problem of a database comparison. */
export function comparisonReasons(c: DatabaseComparison): string[] {
  const reasons: string[] = [];
  if (c.schemaDifferences.length) {
    const shown = c.schemaDifferences.slice(0, 5).map((d) => `${d.objectType} ${d.name} ${d.kind === 'missing' ? 'missing in the restore' : d.kind === 'extra' ? 'only in the restore' : `changed (${d.detail})`}`);
    reasons.push(`database ${c.database}: ${c.schemaDifferences.length} schema difference(s): ${shown.join('; ')}${c.schemaDifferences.length > 5 ? '; ...' : ''}`);
  }
  if (c.outOfTolerance.length) {
    const shown = c.outOfTolerance.slice(0, 5).map((x) => `${x.schema}.${x.table} live ${x.live ?? 'n/a'} vs restored ${x.other ?? 'n/a'} (allowed ±${x.allowed}${x.note && (x.live === undefined || x.other === undefined) ? `; ${x.note}` : ''})`);
    reasons.push(`database ${c.database}: ${c.outOfTolerance.length} table(s) out of row-count tolerance: ${shown.join('; ')}${c.outOfTolerance.length > 5 ? '; ...' : ''}`);
  }
  return reasons;
}
