// compare: content, the restore's side and the judgement: the restore digested table by table
// with live's key ranges (its row counts then stand in for the full read's count(*): one pass),
// then compared with live's digests. A table that differs is named with the key ranges whose
// digests differ and the rows in each on both sides, never row contents; keys are hashed for
// tables listed in content-sensitive-keys. A digest either side could not compute is "not
// compared", never a failure.
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { tableKey, tryDigest, type KeyRanges, type TableDigest } from '../postgres/content-digest.js';
import { judgeSequence, readLargeObjects, readSequences } from '../postgres/content-extras.js';
import { displayName } from '../postgres/ident.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import type { TableCount } from '../postgres/rowcounts.js';
import type { LiveContent } from './content-live.js';

export interface DifferingRange {
  /** e.g. `id in [14900, 15200)`; hashed bounds for sensitive keys. */
  range: string;
  liveRows: number;
  restoredRows: number;
}

export interface TableContent {
  table: string;
  status: 'same' | 'differs' | 'not compared';
  why?: string;
  liveRows?: number;
  restoredRows?: number;
  /** Differing key ranges, smallest first; absent without a primary key. */
  ranges?: DifferingRange[];
  noPrimaryKey?: boolean;
}

export interface ContentComparison {
  database: string;
  /** Differences fail the drill only when the restore stopped at live's snapshot (pin exact). */
  judged: boolean;
  compared: number;
  same: number;
  differing: TableContent[];
  notCompared: TableContent[];
  sequences: { compared: number; differing: { sequence: string; verdict: string }[]; error?: string };
  largeObjects: { live?: number; restored?: number; digest: 'same' | 'differs' | 'not compared'; why?: string };
  /** Columns whose type's text form the session settings do not pin (named, still digested). */
  unpinnedTypes: string[];
  liveMs: number;
  restoreMs: number;
  plan?: string[];
}

export interface RestoreContentOptions {
  concurrency: number;
  judged: boolean;
  /** `schema.table` names whose key values are hashed in the report. */
  sensitive: string[];
  signal?: AbortSignal;
}

/** Digests the restore and compares; `counts` are the restore's row counts from the same scans. */
export async function compareContent(
  db: ReadOnlyDb,
  database: string,
  live: LiveContent,
  o: RestoreContentOptions,
): Promise<{ comparison: ContentComparison; counts: TableCount[] }> {
  const started = performance.now();
  const keys = new Map(live.keys);
  const limit = pLimit(o.concurrency);
  const restored = await Promise.all(
    live.digests.map((d) => limit(() => restoreDigest(db, d, keys.get(tableKey(d)), o.signal))),
  );
  const tables = live.digests.map((d, i) => judgeTable(d, restored[i], keys.get(tableKey(d)), o.sensitive));
  const comparison: ContentComparison = {
    database,
    judged: o.judged,
    compared: tables.filter((t) => t.status !== 'not compared').length,
    same: tables.filter((t) => t.status === 'same').length,
    differing: tables.filter((t) => t.status === 'differs'),
    notCompared: [
      ...tables.filter((t) => t.status === 'not compared'),
      ...live.capped.map((t) => ({
        table: displayName(t.schema, t.name),
        status: 'not compared' as const,
        why: `above content-max-size (${t.bytes} bytes): compared by row counts only`,
      })),
    ],
    sequences: await compareSequences(db, live),
    largeObjects: await compareLargeObjects(db, live),
    unpinnedTypes: live.unpinned.map((u) => `${displayName(u.schema, u.table, u.column)} (${u.type})`),
    liveMs: Math.round(live.ms),
    restoreMs: Math.round(performance.now() - started),
    plan: live.plan,
  };
  const counts = restored.flatMap((r) => (r && !('error' in r) ? [restoreCount(r)] : []));
  return { comparison, counts };
}

/** The whole table first (a parallel plan); by key range only when it differs from live. */
async function restoreDigest(db: ReadOnlyDb, live: Either, key: KeyRanges | undefined, signal?: AbortSignal) {
  if (!live || 'error' in live || signal?.aborted) return undefined;
  const whole = await tryDigest(db, live, undefined);
  if ('error' in whole || !key?.literal || (whole.rows === live.rows && whole.sum === live.sum)) return whole;
  return tryDigest(db, live, key);
}

function restoreCount(d: TableDigest): TableCount {
  return { schema: d.schema, table: d.name, rows: d.rows, method: 'exact', source: 'count', ms: d.ms };
}

type Either = TableDigest | { schema: string; name: string; error: string } | undefined;

function judgeTable(live: Either, restored: Either, key: KeyRanges | undefined, sensitive: string[]): TableContent {
  const l = live!;
  const table = displayName(l.schema, l.name);
  if ('error' in l) return { table, status: 'not compared', why: `live: ${l.error}` };
  if (!restored || 'error' in restored)
    return { table, status: 'not compared', why: `restore: ${restored ? restored.error : 'not read'}` };
  const base = { table, liveRows: l.rows, restoredRows: restored.rows };
  if (l.rows === restored.rows && l.sum === restored.sum) return { ...base, status: 'same' };
  if (!key) return { ...base, status: 'differs', noPrimaryKey: true };
  const hide = sensitive.includes(`${l.schema}.${l.name}`) || sensitive.includes(table);
  return { ...base, status: 'differs', ranges: differingRanges(l, restored, key, hide) };
}

function differingRanges(l: TableDigest, r: TableDigest, key: KeyRanges, hide: boolean): DifferingRange[] {
  const byBucket = (d: TableDigest) => new Map(d.ranges.map((x) => [x.bucket, x]));
  const lb = byBucket(l);
  const rb = byBucket(r);
  const buckets = [...new Set([...lb.keys(), ...rb.keys()])].sort((a, b) => a - b);
  const out: DifferingRange[] = [];
  for (const b of buckets) {
    const x = lb.get(b);
    const y = rb.get(b);
    if (x && y && x.rows === y.rows && x.sum === y.sum) continue;
    out.push({ range: rangeText(key, b, hide), liveRows: x?.rows ?? 0, restoredRows: y?.rows ?? 0 });
  }
  return out.sort((a, b) => Math.max(a.liveRows, a.restoredRows) - Math.max(b.liveRows, b.restoredRows));
}

const hashed = (v: string) => `#${createHash('sha256').update(v).digest('hex').slice(0, 12)}`;

/** width_bucket's bucket b as a key range of the leading key column. */
export function rangeText(key: KeyRanges, b: number, hide: boolean): string {
  const col = displayName(key.column);
  const bounds = key.bounds ?? [];
  if (!bounds.length) return `${col}: the whole table (no key statistics to split it by)`;
  const show = (v: string) => (hide ? hashed(v) : v);
  if (b <= 0) return `${col} < ${show(bounds[0])}`;
  if (b >= bounds.length) return `${col} >= ${show(bounds[bounds.length - 1])}`;
  return `${col} in [${show(bounds[b - 1])}, ${show(bounds[b])})`;
}

async function compareSequences(db: ReadOnlyDb, live: LiveContent): Promise<ContentComparison['sequences']> {
  if ('error' in live.sequences) return { compared: 0, differing: [], error: `live: ${live.sequences.error}` };
  try {
    const restored = new Map((await readSequences(db)).map((s) => [`${s.schema}.${s.name}`, s]));
    const differing = live.sequences.flatMap((s) => {
      const verdict = judgeSequence(s, restored.get(`${s.schema}.${s.name}`));
      return verdict === 'same' || verdict === 'ahead-within-prelog'
        ? []
        : [{ sequence: displayName(s.schema, s.name), verdict }];
    });
    return { compared: live.sequences.length, differing };
  } catch (err) {
    return { compared: 0, differing: [], error: `restore: ${(err as Error).message}` };
  }
}

async function compareLargeObjects(db: ReadOnlyDb, live: LiveContent): Promise<ContentComparison['largeObjects']> {
  const l: { count?: number; sum?: string; error?: string } = live.largeObjects;
  if (l.count === undefined) return { digest: 'not compared', why: `live: ${l.error}` };
  const r: { count?: number; sum?: string; error?: string } = await readLargeObjects(db).catch((err: Error) => ({
    error: err.message,
  }));
  const counts = { live: l.count, restored: r.count };
  if (l.count !== r.count) return { ...counts, digest: r.count === undefined ? 'not compared' : 'differs' };
  if (l.error) return { ...counts, digest: 'not compared', why: `live: ${l.error}` };
  if (r.error) return { ...counts, digest: 'not compared', why: `restore: ${r.error}` };
  return { ...counts, digest: l.sum === r.sum ? 'same' : 'differs' };
}
