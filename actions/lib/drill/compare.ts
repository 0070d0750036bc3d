// Baseline (live) and comparison (restored) of one database: schema snapshot of every user
// schema plus every table's row count, judged per compareCounts' tolerance. The two sides are
// counted differently on purpose: live cheaply (exact below a size, else statistics; or exact on
// a replica), the restore always in full, because a physical restore brings live's statistics
// with it and only reading its files shows what the backup holds.
import { compareCounts } from '../postgres/compare-counts.js';
import { readAllRows } from '../postgres/full-read.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { displayName, qualifiedIdent, quoteIdent } from '../postgres/ident.js';
import { countRows, type TableCount } from '../postgres/rowcounts.js';
import { diffSchemas, snapshotSchema, unloggedTables, userTables, type SchemaSnapshot } from '../postgres/schema.js';
import type { DatabaseComparison, LiveCountedOn, NotCompared, NotComparedWhy } from './result.js';
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
  /**
   * When live refused some counts (42501): the role that counted, the server version, and the refused
   * tables the role may SELECT, refused because a row-level security policy applies to it.
   */
  reader?: { role: string; version: number; rowSecurity: { schema: string; table: string }[] };
  /** compare: content (or user checks): live's digests, read in the same snapshot as the counts. */
  content?: LiveContent;
}

/**
 * SQLSTATE insufficient_privilege: the live role may not SELECT the table (e.g. a superuser-owned one),
 * or, with row_security off (UNFILTERED_READ_SETTINGS), a row-level security policy applies to it.
 */
const DENIED = '42501';

/**
 * Of the refused tables, those the role may SELECT and a policy applies to: row_security_active is
 * true for them with row_security off (an owner without FORCE ROW LEVEL SECURITY bypasses it then).
 */
const ROW_SECURITY_SQL = `SELECT t.schema, t.table
  FROM unnest($1::text[], $2::text[]) AS t(schema, "table")
  JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', t.schema, t.table))
 WHERE has_table_privilege(c.oid, 'SELECT') AND row_security_active(c.oid)`;

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
  const denied = counts.filter((c) => c.code === DENIED);
  if (!denied.length) return { database, schema, counts, countedOn };
  const [r] = await db.query<{ role: string; version: number }>(
    `SELECT current_user AS role, current_setting('server_version_num')::int AS version`,
  );
  const rowSecurity = await db.query<{ schema: string; table: string }>(ROW_SECURITY_SQL, [
    denied.map((c) => c.schema),
    denied.map((c) => c.table),
  ]);
  return { database, schema, counts, countedOn, reader: { ...r, rowSecurity } };
}

const keyOf = (c: { schema: string; table: string }) => `${c.schema}\0${c.table}`;

/**
 * Live tables not compared, never a failure: those the role may not read on live (permission, row
 * security) whose restore was read (the drill could not see live; the backup is not at fault; a
 * restore that could not be read still fails), and unlogged ones the restore has (their structure
 * is compared by diffSchemas; their rows a restore never has).
 */
function notComparedTables(base: Baseline, restored: TableCount[], schema: SchemaSnapshot): NotCompared | undefined {
  const readable = new Map(restored.filter((c) => c.error === undefined).map((c) => [keyOf(c), c.rows]));
  const rls = new Set(base.reader?.rowSecurity.map(keyOf));
  const refused = base.counts
    .filter((c) => c.code === DENIED && readable.has(keyOf(c)))
    .map((c) => ({
      schema: c.schema,
      table: c.table,
      restored: readable.get(keyOf(c)),
      why: (rls.has(keyOf(c)) ? 'row security' : 'permission') as NotComparedWhy,
    }));
  const present = new Set(schema.tables.map((t) => `${t.schema}\0${t.name}`));
  const unlogged = unloggedTables(base.schema)
    .filter((t) => present.has(`${t.schema}\0${t.name}`))
    .map((t) => ({ schema: t.schema, table: t.name, why: 'unlogged' as const }));
  const tables = [...refused, ...unlogged];
  if (!tables.length) return undefined;
  if (!base.reader) return { tables };
  const { role, version } = base.reader;
  const denied = refused.filter((t) => t.why === 'permission');
  if (!denied.length) return { tables, role };
  // pg_read_all_data (PostgreSQL 14+): SELECT on every table, now and later, and nothing else.
  const grant =
    version >= 140000
      ? `GRANT pg_read_all_data TO ${quoteIdent(role)};`
      : `GRANT SELECT ON ${denied.map((t) => qualifiedIdent(t.schema, t.table)).join(', ')} TO ${quoteIdent(role)};`;
  return { tables, role, grant };
}

/** Why, as the report and the notes say it (`permission` also names the role and the grant). */
export const NOT_COMPARED_WHY: Record<NotComparedWhy, string> = {
  permission: "the drill's role may not read them on live (permission denied)",
  'row security': "row security applies to the drill's role on live (grant BYPASSRLS or use a role that bypasses it)",
  unlogged: 'unlogged (PostgreSQL does not restore their contents)',
};

/** Not-compared tables grouped by why, in NOT_COMPARED_WHY's order. */
export function notComparedGroups(n: NotCompared): { why: NotComparedWhy; names: string[] }[] {
  return (Object.keys(NOT_COMPARED_WHY) as NotComparedWhy[])
    .map((why) => ({ why, names: n.tables.filter((t) => t.why === why).map((t) => displayName(t.schema, t.table)) }))
    .filter((g) => g.names.length);
}

/** The notes a reader acts on: which tables were not compared, why, and what fixes it. */
export function notComparedNote(c: DatabaseComparison): string[] {
  const n = c.notCompared;
  if (!n) return [];
  return notComparedGroups(n).map(({ why, names }) => {
    const list = names.join(', ');
    if (why === 'permission')
      return (
        `database ${c.database}: ${names.length} live table(s) not compared, the drill's role ${n.role} may ` +
        `not read them on live (permission denied): ${list}. The backup is not judged on them; to compare them ` +
        `run, as their owner or a superuser: ${n.grant} (or set credentials-secret to a role that can read them).`
      );
    const role = why === 'row security' && n.role ? ` (the drill's role: ${n.role})` : '';
    return `database ${c.database}: not compared: ${NOT_COMPARED_WHY[why]}${role}: ${list}.`;
  });
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
  const notCompared = notComparedTables(base, counts, schema);
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
