// Live's counts and the restore describe the same WAL point. Live is counted in one exported
// snapshot per database (pg_export_snapshot, imported by every counting transaction); the very
// statement that takes the snapshot reads pg_current_wal_insert_lsn(), the position just past
// every commit record the snapshot can see. The restore then stops just before that position
// (recoveryTarget.targetLSN with exclusive: recovery_target_inclusive = off replays exactly the
// records that start before it), once its segment is archived. What remains: a commit whose
// record was written but which was not yet visible when the snapshot was taken (it is in the
// snapshot's in-progress list). Such snapshots are retaken; when every try has one, or the
// databases' positions differ, the counts fall back to the row-count tolerance, saying why.
import { sleep } from '../kube/retry.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { ReadOnlyDb as Db } from '../postgres/readonly.js';
import type { DatabaseComparison } from './result.js';
import { segmentArchived } from './restore-point.js';
import type { Session } from './sessions.js';

export interface Moment {
  /** pg_current_wal_insert_lsn() read with the snapshot: the restore stops just before it. */
  lsn: string;
  /** Live's now() at the snapshot. */
  at: string;
  /** No write was in flight at the snapshot in any database, and all databases saw the same position. */
  exact: boolean;
  tries: number;
  /** Why the counts are not exact (in-flight commits, databases at different positions). */
  why?: string;
}

export const OPENING = `SELECT pg_export_snapshot() AS id, pg_current_wal_insert_lsn()::text AS lsn, clock_timestamp() AS at,
  cardinality(ARRAY(SELECT pg_snapshot_xip(pg_current_snapshot()))) AS xip`;

const TRIES = 20;

interface Opened {
  session: Session;
  id: string;
  lsn: string;
  at: Date;
  xip: number;
}

class Retake extends Error {}

/** Opens one exporting transaction per session (nested, all held open), then runs `work` on them. */
function openAll<R>(sessions: Session[], work: (opened: Opened[]) => Promise<R>, acc: Opened[] = []): Promise<R> {
  if (acc.length === sessions.length) return work(acc);
  const session = sessions[acc.length];
  return session.db.transaction(
    async (_q, rows) => {
      const r = rows![0] as { id: string; lsn: string; at: Date; xip: number };
      return openAll(sessions, work, [...acc, { session, id: r.id, lsn: r.lsn, at: r.at, xip: Number(r.xip) }]);
    },
    'REPEATABLE READ',
    OPENING,
  );
}

/**
 * Counts live at one moment: `count(db, session)` runs on a pool that reads in that database's
 * exported snapshot. Snapshots with a write in flight are retaken (up to TRIES).
 */
export async function countAtOneMoment<B>(
  sessions: Session[],
  opts: { statementTimeoutMs: number; poolSize: number; applicationName: string; signal?: AbortSignal },
  count: (db: ReadOnlyDb, s: Session) => Promise<B>,
): Promise<{ results: B[]; moment: Moment }> {
  for (let tries = 1; ; tries++) {
    try {
      return await openAll(sessions, async (opened) => {
        const inFlight = opened.reduce((n, o) => n + o.xip, 0);
        const positions = new Set(opened.map((o) => o.lsn));
        const exact = inFlight === 0 && positions.size === 1;
        if (!exact && tries < TRIES) throw new Retake();
        const results: B[] = [];
        for (const o of opened) {
          const db = new Db(o.session.db.conn, {
            statementTimeoutMs: opts.statementTimeoutMs,
            poolSize: opts.poolSize,
            applicationName: opts.applicationName,
            snapshot: o.id,
          });
          try {
            results.push(await count(db, o.session));
          } finally {
            await db.close();
          }
        }
        const why = exact
          ? undefined
          : inFlight
            ? `${inFlight} transaction(s) were writing at every one of ${tries} snapshots; a commit among them may be in the restore and not in live's counts`
            : `the databases' snapshots saw different WAL positions (${[...positions].join(', ')}) in ${tries} tries`;
        return { results, moment: { lsn: opened[0].lsn, at: opened[0].at.toISOString(), exact, tries, why } };
      });
    } catch (err) {
      if (!(err instanceof Retake)) throw err;
      await sleep(25 * tries, opts.signal);
    }
  }
}

/** The archive's progress, read on live (pg_stat_archiver). */
async function archived(db: ReadOnlyDb, segment: string): Promise<{ done: boolean; last?: string }> {
  const [r] = await db.query<{ wal: string | null }>(`SELECT last_archived_wal AS wal FROM pg_stat_archiver`);
  return { done: segmentArchived(r.wal ?? undefined, segment), last: r.wal ?? undefined };
}

/** Waits (bounded) until the segment holding `lsn` is archived; says how long it took or why not. */
export async function waitLsnArchived(
  db: ReadOnlyDb,
  lsn: string,
  opts: { deadline: number; signal?: AbortSignal },
): Promise<{ ok: boolean; segment: string; ms: number; last?: string }> {
  const [{ segment }] = await db.query<{ segment: string }>(`SELECT pg_walfile_name($1::pg_lsn) AS segment`, [lsn]);
  const started = Date.now();
  let delay = 200;
  for (;;) {
    const a = await archived(db, segment);
    if (a.done || Date.now() > opts.deadline) return { ok: a.done, segment, ms: Date.now() - started, last: a.last };
    await sleep(Math.min(delay, Math.max(0, opts.deadline - Date.now()) + 1), opts.signal);
    delay = Math.min(delay * 1.5, 2_000);
  }
}

/**
 * Judges the tables counted exactly on live at the pinned moment with no slack (allowed 0): they
 * must match the restore row for row. Estimated tables keep the row-count tolerance.
 */
export function judgeExactly(c: DatabaseComparison): DatabaseComparison {
  const counts = c.counts.map((x) => {
    if (x.liveSource !== 'count' || x.live === undefined || x.other === undefined) return x;
    const diff = Math.abs(x.other - x.live);
    return {
      ...x,
      allowed: 0,
      within: diff === 0,
      note: diff === 0 ? undefined : `differs by ${diff} rows at the same WAL point (none allowed)`,
    };
  });
  return { ...c, counts, outOfTolerance: counts.filter((x) => !x.within) };
}
