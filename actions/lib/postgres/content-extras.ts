// What the row digests do not cover: sequences (not rows of any table) and large objects
// (pg_largeobject, a catalog). Read in the same transaction settings as the row digests.
import { describeError } from '../errors.js';
import type { ReadOnlyDb } from './readonly.js';
import { SCAN_SETTINGS, setLocalSql, TEXT_SETTINGS } from './content-text.js';

export interface SequenceValue {
  schema: string;
  name: string;
  /** null: never called (or not readable by this role). */
  lastValue: string | null;
  increment: string;
  cache: string;
}

/**
 * pg_sequences: every permanent user sequence's last_value (null when unreadable or never used).
 * Unlogged sequences (PostgreSQL 15+) are left out: a restore resets them to their start, as it
 * empties unlogged tables.
 */
export async function readSequences(db: ReadOnlyDb): Promise<SequenceValue[]> {
  const rows = await db.query<{ schema: string; name: string; last: string | null; inc: string; cache: string }>(
    `SELECT s.schemaname AS schema, s.sequencename AS name, s.last_value::text AS last,
            s.increment_by::text AS inc, s.cache_size::text AS cache
       FROM pg_sequences s
       JOIN pg_namespace n ON n.nspname = s.schemaname
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
      WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema') AND s.schemaname NOT LIKE 'pg\\_%'
        AND c.relpersistence = 'p'
      ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, lastValue: r.last, increment: r.inc, cache: r.cache }));
}

/**
 * Sequences are not MVCC: live's value is read just after the snapshot, the restore's is what the
 * WAL logged. nextval logs SEQ_LOG_VALS (32) values plus the cache ahead of the one it hands out
 * (src/backend/commands/sequence.c), so a restore stopped at the snapshot may read up to
 * (32 + cache) increments ahead of live, never more; a restore behind live is possible only when
 * live moved on after its snapshot, so it is reported, not judged.
 */
export const SEQ_LOG_VALS = 32n;

export type SequenceVerdict = 'same' | 'ahead-within-prelog' | 'behind' | 'too-far-ahead' | 'missing';

export function judgeSequence(live: SequenceValue, restored: SequenceValue | undefined): SequenceVerdict {
  if (!restored) return 'missing';
  if (live.lastValue === restored.lastValue) return 'same';
  if (live.lastValue === null) return 'ahead-within-prelog';
  if (restored.lastValue === null) return 'behind';
  const inc = BigInt(live.increment);
  const steps = (BigInt(restored.lastValue) - BigInt(live.lastValue)) / (inc === 0n ? 1n : inc);
  if (steps < 0n) return 'behind';
  return steps <= SEQ_LOG_VALS + BigInt(live.cache) ? 'ahead-within-prelog' : 'too-far-ahead';
}

export interface LargeObjects {
  count: number;
  /** Sum of 64-bit digests of every (loid, pageno, data) page; undefined with `error`. */
  sum?: string;
  error?: string;
}

/**
 * Large objects: counted from pg_largeobject_metadata (readable by every role) and digested from
 * pg_largeobject, which only a superuser (or a role granted SELECT) may read; without it the
 * digest is reported as not computed.
 */
export async function readLargeObjects(db: ReadOnlyDb): Promise<LargeObjects> {
  const [{ n }] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_largeobject_metadata`);
  const count = Number(n);
  try {
    const [{ sum }] = await db.transaction(async (q) => {
      await q(setLocalSql(TEXT_SETTINGS, SCAN_SETTINGS));
      return q<{ sum: string }>(
        `SELECT coalesce(sum(hashtextextended(
                  loid::text || ':' || pageno || ':' || encode(data, 'hex') COLLATE "C", 0)),
                  0)::text AS sum FROM pg_catalog.pg_largeobject`,
      );
    });
    return { count, sum };
  } catch (err) {
    return { count, error: describeError(err) };
  }
}
