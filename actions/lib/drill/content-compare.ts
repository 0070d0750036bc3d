// compare: content, the restore's side and the judgement: the restore digested whole tables as
// live was (its row counts then stand in for the full read's count(*): one pass), then compared
// with live's digests. A table that differs is narrowed by bisection (content-narrow.ts) to the
// smallest key ranges that differ, with the rows in each on both sides, never row contents; keys
// are shown as keyed hashes for tables listed in content-sensitive-keys. A digest either side
// could not compute is "not compared", never a failure.
import { randomBytes } from 'node:crypto';
import { digestAll, tableKey, type TableDigest } from '../postgres/content-digest.js';
import { tableSizes } from '../postgres/full-read.js';
import { judgeSequence, readLargeObjects, readSequences } from '../postgres/content-extras.js';
import { displayName } from '../postgres/ident.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import type { TableRef } from '../postgres/schema.js';
import type { TableCount } from '../postgres/rowcounts.js';
import type { LiveContent } from './content-live.js';
import type { BisectLimits } from './content-bisect.js';
import { narrowTable } from './content-narrow.js';

/** Differing tables bisected per database (the verdict names five). */
const NARROWED_TABLES = 5;

export interface DifferingRange {
  /** e.g. `id in [14900, 14901)`; hashed bounds for sensitive keys. */
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
  /** The smallest differing key ranges bisection reached, smallest first; absent when not narrowed. */
  ranges?: DifferingRange[];
  /** How the narrowing went: rounds, the bound that stopped it, or why there was none. */
  narrowing?: string;
  noPrimaryKey?: boolean;
  /** Its key values are shown as keyed hashes (content-sensitive-keys). */
  keysHashed?: boolean;
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
  /** Tables (as PostgreSQL resolved their names: inputs.ts) whose key values are hashed in the report. */
  sensitive: TableRef[];
  /** The HMAC key of those hashes, one per drill run (content-phase.ts); absent: drawn for this comparison. */
  hashKey?: Uint8Array;
  /** A read-only session on live now, for bisecting differing tables (content-narrow.ts); none: not narrowed. */
  openLive?: () => Promise<ReadOnlyDb>;
  limits?: BisectLimits;
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
  const restored = await restoreDigests(db, live, o);
  const judgedTables = live.digests.map((d, i) => judgeTable(d, restored[i]));
  const tables = await narrowDiffering(db, judgedTables, o);
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

/** Whole tables, batched (parallel plans for the large ones), in live's order. */
async function restoreDigests(db: ReadOnlyDb, live: LiveContent, o: RestoreContentOptions): Promise<Either[]> {
  const read = live.digests.filter((d): d is TableDigest => !('error' in d));
  const digests = await digestAll(db, await tableSizes(db, read), { concurrency: o.concurrency, signal: o.signal });
  const byTable = new Map(digests.map((d) => [tableKey(d), d]));
  return live.digests.map((l) => byTable.get(tableKey(l)));
}

function restoreCount(d: TableDigest): TableCount {
  return { schema: d.schema, table: d.name, rows: d.rows, method: 'exact', source: 'count', ms: d.ms };
}

type Either = TableDigest | { schema: string; name: string; error: string } | undefined;

type Judged = TableContent & { live?: TableDigest; restored?: TableDigest };

function judgeTable(live: Either, restored: Either): Judged {
  const l = live!;
  const table = displayName(l.schema, l.name);
  if ('error' in l) return { table, status: 'not compared', why: `live: ${l.error}` };
  if (!restored || 'error' in restored)
    return { table, status: 'not compared', why: `restore: ${restored ? restored.error : 'not read'}` };
  const base = { table, liveRows: l.rows, restoredRows: restored.rows };
  if (l.rows === restored.rows && l.sum === restored.sum) return { ...base, status: 'same' };
  return { ...base, status: 'differs', live: l, restored };
}

/** The first NARROWED_TABLES differing tables bisected (when judged), the rest said not narrowed. */
async function narrowDiffering(db: ReadOnlyDb, tables: Judged[], o: RestoreContentOptions): Promise<TableContent[]> {
  let liveDb: Promise<ReadOnlyDb> | undefined;
  // Opened once, by the first table that has a primary key to bisect.
  const openLive = o.openLive && (() => (liveDb ??= o.openLive!()));
  const hashKey = o.hashKey ?? randomBytes(32);
  let narrowed = 0;
  const out: TableContent[] = [];
  for (const { live: l, restored: r, ...t } of tables) {
    if (!l || !r) out.push(t);
    else if (!o.judged) out.push({ ...t, narrowing: 'not narrowed: the restore does not stop at live’s snapshot' });
    else if (o.signal?.aborted) out.push({ ...t, narrowing: 'not narrowed: the drill was cancelled' });
    else if (narrowed++ >= NARROWED_TABLES)
      out.push({ ...t, narrowing: `not narrowed: only the first ${NARROWED_TABLES} differing tables are` });
    else {
      const hide = o.sensitive.some((s) => s.schema === l.schema && s.name === l.name);
      const n = { hashKey: hide ? hashKey : undefined, limits: o.limits, signal: o.signal };
      out.push({ ...t, ...(hide && { keysHashed: true }), ...(await narrowTable(db, openLive, l, r, n)) });
    }
  }
  return out;
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
