// Baseline (live) and comparison (restored) of one database: schema snapshot of every user
// schema plus every table's row count, judged per compareCounts' tolerance. The two sides are
// counted differently on purpose: live cheaply (exact below a size, else statistics; or exact on
// a replica), the restore always in full, because a physical restore brings live's statistics
// with it and only reading its files shows what the backup holds.
import { compareCounts } from '../postgres/compare-counts.js';
import { readAllRows } from '../postgres/full-read.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { qualifiedIdent, quoteIdent } from '../postgres/ident.js';
import { countRows, type TableCount } from '../postgres/rowcounts.js';
import { diffSchemas, snapshotSchema, userTables, type SchemaSnapshot } from '../postgres/schema.js';
import type { DatabaseComparison, LiveCountedOn, NotCompared } from './result.js';
import type { LiveContent } from './content-live.js';
import type { DrillInputs } from './inputs.js';

export type LiveCounts = 'auto' | 'exact' | 'estimate' | 'replica';

export interface CountSettings {
  /** How live is counted; `replica` = exact, on a replica's session. */
  live: LiveCounts;
  /** auto: live tables whose main fork is below this are counted exactly. */
  liveExactMaxBytes: number;
  concurrency: number;
  tolerance: number;
  floor: number;
  signal?: AbortSignal;
  /** The restore's full read: progress lines and the drill's deadline (epoch ms). */
  log?: (line: string) => void;
  deadline?: number;
}

type CountInputs = Pick<DrillInputs, 'liveCounts' | 'liveExactMaxBytes' | 'countConcurrency' | 'tolerance' | 'floor'>;

/** How rows are counted and compared, from the inputs (the baseline and the compare use the same). */
export function countSettings({
  inputs,
  signal,
  log,
}: {
  inputs: CountInputs;
  signal?: AbortSignal;
  log?: (line: string) => void;
}): CountSettings {
  return {
    live: inputs.liveCounts,
    liveExactMaxBytes: inputs.liveExactMaxBytes,
    concurrency: inputs.countConcurrency,
    tolerance: inputs.tolerance,
    floor: inputs.floor,
    signal,
    log,
  };
}

export interface Baseline {
  database: string;
  schema: SchemaSnapshot;
  counts: TableCount[];
  countedOn: LiveCountedOn;
  /** When live refused some counts (permission denied): the role that counted and the server version. */
  reader?: { role: string; version: number };
  /** compare: content (or user checks): live's digests, read in the same snapshot as the counts. */
  content?: LiveContent;
}

/** SQLSTATE insufficient_privilege: the live role may not SELECT the table (e.g. a superuser-owned one). */
const DENIED = '42501';

export async function takeBaseline(
  db: ReadOnlyDb,
  database: string,
  s: CountSettings,
  countedOn: LiveCountedOn = 'primary',
): Promise<Baseline> {
  const schema = await snapshotSchema(db);
  const mode = s.live === 'replica' ? 'exact' : s.live;
  const counts = await countRows(db, userTables(schema), {
    mode,
    concurrency: s.concurrency,
    autoExactMaxBytes: s.liveExactMaxBytes,
    signal: s.signal,
  });
  if (!counts.some((c) => c.code === DENIED)) return { database, schema, counts, countedOn };
  const [r] = await db.query<{ role: string; version: number }>(
    `SELECT current_user AS role, current_setting('server_version_num')::int AS version`,
  );
  return { database, schema, counts, countedOn, reader: r };
}

const keyOf = (c: { schema: string; table: string }) => `${c.schema}\0${c.table}`;

/**
 * Live tables the role may not read, whose restore was read: not compared, never a failure (the drill
 * could not see live; the backup is not at fault). A restore that could not be read still fails.
 */
function unreadableOnLive(base: Baseline, restored: TableCount[]): NotCompared | undefined {
  const readable = new Map(restored.filter((c) => c.error === undefined).map((c) => [keyOf(c), c.rows]));
  const tables = base.counts
    .filter((c) => c.code === DENIED && readable.has(keyOf(c)))
    .map((c) => ({ schema: c.schema, table: c.table, restored: readable.get(keyOf(c)) }));
  if (!tables.length || !base.reader) return undefined;
  const { role, version } = base.reader;
  // pg_read_all_data (PostgreSQL 14+): SELECT on every table, now and later, and nothing else.
  const grant =
    version >= 140000
      ? `GRANT pg_read_all_data TO ${quoteIdent(role)};`
      : `GRANT SELECT ON ${tables.map((t) => qualifiedIdent(t.schema, t.table)).join(', ')} TO ${quoteIdent(role)};`;
  return { tables, role, grant };
}

/** The note a reader acts on: which tables were not compared, why, and the grant (as their owner or a superuser). */
export function notComparedNote(c: DatabaseComparison): string[] {
  const n = c.notCompared;
  if (!n) return [];
  const names = n.tables.map((t) => `${t.schema}.${t.table}`).join(', ');
  return [
    `database ${c.database}: ${n.tables.length} live table(s) not compared, the drill's role ${n.role} may ` +
      `not read them on live (permission denied): ${names}. The backup is not judged on them; to compare them ` +
      `run, as their owner or a superuser: ${n.grant} (or set credentials-secret to a role that can read them).`,
  ];
}

export async function compareWithRestore(
  restored: ReadOnlyDb,
  base: Baseline,
  s: CountSettings,
  known: TableCount[] = [],
): Promise<DatabaseComparison> {
  const schema = await snapshotSchema(restored);
  const present = new Set(userTables(schema).map((t) => `${t.schema}\0${t.name}`));
  // Read the live tables the restore has (a missing one is already a schema difference), plus its extras.
  const tables = [
    ...userTables(base.schema).filter((t) => present.has(`${t.schema}\0${t.name}`)),
    ...userTables(schema).filter((t) => !base.counts.some((c) => c.schema === t.schema && c.table === t.name)),
  ];
  const started = performance.now();
  // Tables the content digest already read in full (its row counts): not read twice.
  const counted = new Set(known.map((c) => `${c.schema}\0${c.table}`));
  const read = await readAllRows(
    restored,
    tables.filter((t) => !counted.has(`${t.schema}\0${t.name}`)),
    {
      concurrency: s.concurrency,
      label: `restore ${base.database}: read`,
      log: s.log,
      signal: s.signal,
      deadline: s.deadline,
    },
  );
  const counts = [...known, ...read];
  const readMs = performance.now() - started;
  const notCompared = unreadableOnLive(base, counts);
  const skip = new Set(notCompared?.tables.map(keyOf));
  const comparisons = compareCounts(
    base.counts.filter((c) => !skip.has(keyOf(c))),
    counts.filter((c) => !skip.has(keyOf(c))),
    { tolerance: s.tolerance, floor: s.floor },
  );
  const bySource = (src: TableCount['source']) =>
    base.counts
      .filter((c) => !skip.has(keyOf(c)))
      .filter((c) => (c.source ?? (c.method === 'exact' ? 'count' : 'reltuples')) === src).length;
  return {
    database: base.database,
    tablesCompared: comparisons.length,
    schemaDifferences: diffSchemas(base.schema, schema),
    outOfTolerance: comparisons.filter((c) => !c.within),
    counts: comparisons,
    liveCounted: {
      on: base.countedOn,
      exact: bySource('count'),
      nLiveTup: bySource('n_live_tup'),
      reltuples: bySource('reltuples'),
    },
    restoreRead: {
      tables: counts.length,
      failed: counts.filter((c) => c.error !== undefined).length,
      ms: Math.round(readMs),
    },
    ...(notCompared && { notCompared }),
  };
}

/** One verdict line per problem of a database comparison. */
export function comparisonReasons(c: DatabaseComparison): string[] {
  const reasons: string[] = [];
  if (c.schemaDifferences.length) {
    const shown = c.schemaDifferences.slice(0, 5).map((d) => {
      const how =
        d.kind === 'missing'
          ? 'missing in the restore'
          : d.kind === 'extra'
            ? 'only in the restore'
            : `changed (${d.detail})`;
      return `${d.objectType} ${d.name} ${how}`;
    });
    reasons.push(
      `database ${c.database}: ${c.schemaDifferences.length} schema ` +
        `difference(s): ${shown.join('; ')}${c.schemaDifferences.length > 5 ? '; ...' : ''}`,
    );
  }
  if (c.outOfTolerance.length) {
    const shown = c.outOfTolerance.slice(0, 5).map((x) => {
      const estimate = x.liveSource && x.liveSource !== 'count' ? ` (estimate, ${x.liveSource})` : '';
      const note = x.note && (x.live === undefined || x.other === undefined) ? `; ${x.note}` : '';
      return `${x.schema}.${x.table} live ${x.live ?? 'n/a'}${estimate} vs restored ${x.other ?? 'n/a'} (allowed ±${x.allowed}${note})`;
    });
    reasons.push(
      `database ${c.database}: ${c.outOfTolerance.length} table(s) out of row-count ` +
        `tolerance: ${shown.join('; ')}${c.outOfTolerance.length > 5 ? '; ...' : ''}`,
    );
  }
  return reasons;
}
