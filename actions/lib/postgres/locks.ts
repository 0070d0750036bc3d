// Why a catalog read or a count timed out: a table held ACCESS EXCLUSIVE (ALTER TABLE, VACUUM FULL,
// REINDEX, TRUNCATE...) blocks even pg_get_indexdef and pg_relation_size. Naming the table and the
// holding session turns "canceling statement due to statement timeout" into something actionable.
import { displayName } from './ident.js';
import type { ReadOnlyDb } from './readonly.js';

export interface ExclusiveLock {
  schema: string;
  name: string;
  pid: number;
  granted: boolean;
}

/** SQLSTATE 57014 query_canceled (statement timeout), 55P03 lock_not_available (lock timeout). */
export function isTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '57014' || code === '55P03';
}

/** Relations of this database currently held (or awaited) in ACCESS EXCLUSIVE mode. Never throws. */
export async function exclusiveLocks(db: ReadOnlyDb): Promise<ExclusiveLock[]> {
  try {
    return await db.query<ExclusiveLock>(
      `SELECT n.nspname AS schema, c.relname AS name, l.pid, l.granted
         FROM pg_locks l
         JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY n.nspname, c.relname, l.pid`,
    );
  } catch {
    return [];
  }
}

export function describeLock(l: ExclusiveLock): string {
  return `${displayName(l.schema, l.name)} is ${l.granted ? 'locked' : 'awaiting a lock'} ACCESS EXCLUSIVE by backend pid ${l.pid}`;
}
