// compare: content, live's side: inside the exported snapshot the counts use (same-moment.ts),
// through the same bounded pool, every table up to content-max-size digested whole (small tables
// many to a statement: content-digest.ts digestAll), sequences and large objects read, and the
// same-as-live user checks evaluated.
import { describeError } from '../errors.js';
import { digestAll, planDigest, type DigestFailure, type TableDigest } from '../postgres/content-digest.js';
import { readLargeObjects, readSequences, type LargeObjects, type SequenceValue } from '../postgres/content-extras.js';
import { runCheck, type CheckRun, type UserCheck } from '../postgres/content-checks.js';
import { UNPINNED_TYPES_SQL } from '../postgres/content-text.js';
import { tableSizes, type SizedTable } from '../postgres/full-read.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { userTables, type SchemaSnapshot } from '../postgres/schema.js';

export interface ContentSettings {
  /** Compare content (else only user checks run). */
  content: boolean;
  maxBytes: number;
  concurrency: number;
  statementTimeoutMs: number;
  checks: UserCheck[];
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface LiveContent {
  digests: (TableDigest | DigestFailure)[];
  /** Above content-max-size: compared by counts only. */
  capped: SizedTable[];
  sequences: SequenceValue[] | { error: string };
  largeObjects: LargeObjects | { error: string };
  unpinned: { schema: string; table: string; column: string; type: string }[];
  /** same-as-live checks evaluated on live, by name. */
  checks: [string, CheckRun][];
  plan?: string[];
  ms: number;
}

const attempt = async <T>(f: () => Promise<T>): Promise<T | { error: string }> => {
  try {
    return await f();
  } catch (err) {
    return { error: describeError(err) };
  }
};

/** Live's content of one database, read on `db` (a pool in the pinned snapshot when there is one). */
export async function takeLiveContent(
  db: ReadOnlyDb,
  database: string,
  schema: SchemaSnapshot,
  s: ContentSettings,
): Promise<LiveContent> {
  const started = performance.now();
  const checks: [string, CheckRun][] = [];
  for (const c of s.checks.filter((c) => c.sameAsLive && c.database === database))
    checks.push([c.name, await runCheck(db, c, s.statementTimeoutMs)]);
  const empty = { digests: [], capped: [], unpinned: [], checks, ms: 0 };
  if (!s.content) return { ...empty, sequences: [], largeObjects: { count: 0 }, ms: performance.now() - started };
  const sequences = await attempt(() => readSequences(db));
  const sized = await tableSizes(db, userTables(schema));
  const capped = sized.filter((t) => t.bytes > s.maxBytes);
  const tables = sized.filter((t) => t.bytes <= s.maxBytes);
  const digests = await digestAll(db, tables, { concurrency: s.concurrency, signal: s.signal });
  const largest = [...tables].sort((a, b) => b.bytes - a.bytes)[0];
  const plan = largest ? await planDigest(db, largest).catch(() => undefined) : undefined;
  const unpinned = await db
    .query<LiveContent['unpinned'][number]>(UNPINNED_TYPES_SQL, [
      tables.map((t) => t.schema),
      tables.map((t) => t.name),
    ])
    .catch(() => []);
  const ms = performance.now() - started;
  s.log?.(
    `live ${database}: ${digests.filter((d) => !('error' in d)).length}/${tables.length} tables digested ` +
      `in ${Math.round(ms)} ms${capped.length ? `, ${capped.length} above content-max-size` : ''}`,
  );
  if (plan)
    s.log?.(
      `live ${database}: digest plan of ${largest.schema}.${largest.name}: ` +
        plan.map((l) => l.trim().replace(/'\{[^}]*\}'/g, "'{...}'")).join(' / '),
    );
  const largeObjects = await attempt(() => readLargeObjects(db));
  return { digests, capped, sequences, largeObjects, unpinned, checks, plan, ms };
}
