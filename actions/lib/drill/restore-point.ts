// The drill's one write to live, opt-in (`restore-point: true`): a named restore point plus a
// WAL switch, in its own clearly named session, then a wait until that segment is archived so
// the recovery can stop exactly there (recoveryTarget.targetName). Needs a role allowed to
// call pg_create_restore_point (superuser by default).
import pg from 'pg';
import { pgClientConfig } from '../postgres/client-config.js';
import { withTransportReason, type ConnInfo } from '../postgres/conn-info.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { sleep } from '../kube/retry.js';

export const RESTORE_POINT_APPLICATION = 'cnpg-restore-drill-restore-point';

export interface RestorePoint {
  name: string;
  lsn: string;
  /** The WAL segment holding the restore point; recovery needs it archived. */
  segment: string;
  createdAt: string;
}

export async function createRestorePoint(
  conn: ConnInfo,
  name: string,
  statementTimeoutMs: number,
): Promise<RestorePoint> {
  // The one write the suite may make on a live database (opt-in): its own, clearly named session.
  const client = new pg.Client(
    pgClientConfig(conn, { applicationName: RESTORE_POINT_APPLICATION, statementTimeoutMs }),
  );
  client.on('error', () => {}); // a lost connection rejects the running query; never an uncaught error
  await client.connect();
  try {
    const { rows } = await client.query<{ lsn: string; segment: string; at: Date }>(
      `SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS segment, now() AS at FROM pg_create_restore_point($1) AS lsn`,
      [name],
    );
    await client.query('SELECT pg_switch_wal()');
    return { name, lsn: rows[0].lsn, segment: rows[0].segment, createdAt: rows[0].at.toISOString() };
  } catch (err) {
    const msg = (err as Error).message;
    if (/permission denied|must be superuser/i.test(msg)) {
      throw new Error(
        `restore-point: the role '${conn.user}' may not create restore points (${msg}); ` +
          `use credentials-secret with a superuser secret, or restore-point: false.`,
        { cause: err },
      );
    }
    throw withTransportReason(conn, err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Same-timeline segment order: the last 16 hex digits (log + segment number) compare as text. */
export function segmentArchived(lastArchived: string | undefined, segment: string): boolean {
  if (!lastArchived || !/^[0-9A-F]{24}$/i.test(lastArchived)) return false;
  return lastArchived.slice(8).toUpperCase() >= segment.slice(8).toUpperCase();
}

/** Waits (pg_stat_archiver, read-only) until the restore point's segment is in the archive. */
export async function waitArchived(
  db: ReadOnlyDb,
  point: RestorePoint,
  opts: { deadline: number; signal?: AbortSignal },
): Promise<void> {
  let delay = 200;
  while (true) {
    const [r] = await db.query<{ wal: string | null; failed: string | null; failedAt: Date | null; okAt: Date | null }>(
      `SELECT last_archived_wal AS wal, last_failed_wal AS failed, last_failed_time ` +
        `AS "failedAt", last_archived_time AS "okAt" FROM pg_stat_archiver`,
    );
    if (segmentArchived(r.wal ?? undefined, point.segment)) return;
    if (Date.now() > opts.deadline) {
      const failing =
        r.failedAt && (!r.okAt || r.failedAt > r.okAt) ? `; archiving is failing (last failed ${r.failed})` : '';
      throw new Error(
        `restore point '${point.name}' (segment ${point.segment}) was not archived in time: last archived ${r.wal ?? 'none'}${failing}`,
      );
    }
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 1.5, 2_000);
  }
}
