// Judge two sets of row counts (live vs restored, publisher vs subscriber) table by table:
// within when |other − live| <= max(tolerance × live, floor). A relative tolerance lets busy
// tables move between the two reads; the absolute floor keeps tiny tables from alarming.
import type { CountSource, TableCount } from './rowcounts.js';

export interface CountComparison {
  schema: string;
  table: string;
  /** Undefined when the table is absent or its count failed on that side. */
  live?: number;
  other?: number;
  /** The largest difference accepted for this table, in whole rows. */
  allowed: number;
  /** How each side was counted (count(*), or the statistic an estimate came from). */
  liveSource?: CountSource;
  otherSource?: CountSource;
  within: boolean;
  note?: string;
}

export interface CompareOptions {
  /** Relative slack, e.g. 0.10 = 10 % of the live count. */
  tolerance: number;
  /** Absolute slack in rows. */
  floor: number;
}

/** Counts made before sources were recorded: an estimate was reltuples. */
const sourceOf = (c: TableCount): CountSource => c.source ?? (c.method === 'exact' ? 'count' : 'reltuples');

export const STAT: Record<CountSource, string> = {
  count: 'count(*)',
  n_live_tup: 'pg_stat_user_tables.n_live_tup',
  reltuples: 'pg_class.reltuples',
};

function usable(c: TableCount | undefined): c is TableCount {
  return c !== undefined && c.error === undefined && Number.isFinite(c.rows);
}

function sideProblem(side: string, c: TableCount | undefined): string | undefined {
  if (c === undefined) return `absent on ${side}`;
  if (c.error !== undefined || !Number.isFinite(c.rows)) return `not counted on ${side}: ${c.error ?? 'no count'}`;
  return undefined;
}

/** Sorted by schema, then table (code-unit order); every table of either side appears once. */
export function compareCounts(live: TableCount[], other: TableCount[], opts: CompareOptions): CountComparison[] {
  for (const [name, v] of Object.entries(opts)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  }
  const keyOf = (c: TableCount) => `${c.schema}\0${c.table}`;
  const liveByKey = new Map(live.map((c) => [keyOf(c), c]));
  const otherByKey = new Map(other.map((c) => [keyOf(c), c]));
  const keys = [...new Set([...liveByKey.keys(), ...otherByKey.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  return keys.map((k) => {
    const l = liveByKey.get(k);
    const o = otherByKey.get(k);
    const [schema, table] = k.split('\0');
    const liveRows = usable(l) ? l.rows : undefined;
    const otherRows = usable(o) ? o.rows : undefined;
    // Counts are integers, so flooring changes no verdict and keeps the figure readable.
    const allowed = Math.floor(Math.max(opts.tolerance * (liveRows ?? 0), opts.floor));
    const base = {
      schema,
      table,
      ...(liveRows !== undefined && { live: liveRows }),
      ...(otherRows !== undefined && { other: otherRows }),
      allowed,
      ...(l && { liveSource: sourceOf(l) }),
      ...(o && { otherSource: sourceOf(o) }),
    };
    const problems = [sideProblem('live', l), sideProblem('the other side', o)].filter((p) => p !== undefined);
    if (problems.length) return { ...base, within: false, note: problems.join('; ') };

    const diff = Math.abs(otherRows! - liveRows!);
    const within = diff <= allowed;
    const notes: string[] = [];
    if (!within) notes.push(`differs by ${diff} rows, more than the ${allowed} allowed`);
    if (l!.method === 'estimate' && o!.method === 'estimate')
      notes.push(`both counts are estimates (${[...new Set([STAT[sourceOf(l!)], STAT[sourceOf(o!)]])].join(', ')})`);
    else if (l!.method === 'estimate') notes.push(`live count is an estimate (${STAT[sourceOf(l!)]})`);
    else if (o!.method === 'estimate') notes.push(`other count is an estimate (${STAT[sourceOf(o!)]})`);
    return { ...base, within, ...(notes.length && { note: notes.join('; ') }) };
  });
}
