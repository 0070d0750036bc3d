// How late a time target may be. PostgreSQL stops a time target at the first commit (or abort)
// record after it; with none in the archive, recovery reaches the end of the WAL and stops with
// FATAL "recovery ended before configured recovery target was reached" (PostgreSQL 14+;
// CONFORMANCE.md, section moment). The last archived segment's time is no such record: the end
// of the reachable window is the last archived commit. Read-only, from live:
// - live's last checkpoint C is archived: every transaction with an xid below its oldest running
//   xid A had ended before C's record (quiet.ts, step 2), so its commit is in the archive;
// - track_commit_timestamp on: the newest commit time among those xids is an archived commit
//   (exactly the last commit when live is idle since C: pg_last_committed_xact());
// - off, and live idle since C: no commit follows C, so nothing after C's time is reachable.
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { readCheckpoint, type Checkpoint } from './quiet.js';
import { segmentArchived } from './restore-point.js';
import { parseLsn } from './rpo.js';
import { formatLsn } from './targets.js';

export interface CommitBound {
  /** Live's clock. */
  at: string;
  /** true: a commit at `at` is in the archive (targets before it are reachable); false: no commit after `at`. */
  commitAt: boolean;
  how: string;
}

const ROOM = 512n;

/** The archived-commit bound for time targets, or undefined when live cannot tell (then why). */
export async function lastArchivedCommit(
  db: ReadOnlyDb,
  lastArchivedWal: string | undefined,
): Promise<{ bound?: CommitBound; why?: string }> {
  const c = await readCheckpoint(db).catch((err: Error) => err);
  if (c instanceof Error) return { why: `live's last checkpoint could not be read (${c.message})` };
  const [r] = await db.query<{ seg: string; track: string; ahead: number }>(
    `SELECT pg_walfile_name($1::pg_lsn) AS seg, current_setting('track_commit_timestamp') AS track, age($2::xid) AS ahead`,
    [formatLsn(parseLsn(c.lsn) + ROOM), String(c.nextXid & 0xffff_ffffn)],
  );
  if (!segmentArchived(lastArchivedWal, r.seg))
    return {
      why: `live's last checkpoint (${c.lsn}) is not archived yet (last archived ${lastArchivedWal ?? 'none'})`,
    };
  const idle = c.oldestActiveXid !== 0 && BigInt(c.oldestActiveXid) === (c.nextXid & 0xffff_ffffn) && r.ahead === 0;
  if (r.track === 'on') return commitTimes(db, c, idle);
  if (idle)
    return {
      bound: {
        at: new Date(Date.parse(c.at) + 1000).toISOString(),
        commitAt: false,
        how:
          `live has committed nothing since its last checkpoint at ${c.at} ` +
          `(track_commit_timestamp is off, so the last commit's own time is unknown)`,
      },
    };
  return { why: 'track_commit_timestamp is off on live and live has written since its last checkpoint' };
}

async function commitTimes(
  db: ReadOnlyDb,
  c: Checkpoint,
  idle: boolean,
): Promise<{ bound?: CommitBound; why?: string }> {
  // Idle at C: the last commit, if its xid is below C's next xid (every such transaction ended before C).
  // A transaction may begin and commit between the idle test and this read: its commit follows C and
  // may not be archived, so then the bound is taken as if live were busy (test/postgres/last-commit.test.ts).
  const next = String(c.nextXid & 0xffff_ffffn);
  const [last] = idle
    ? await db.query<{ at: Date | null; before: boolean | null }>(
        `SELECT l.timestamp AS at, age(l.xid) > age($1::xid) AS before FROM pg_last_committed_xact() l`,
        [next],
      )
    : [undefined];
  const exact = idle && last?.before === true;
  const [r] = exact
    ? [last]
    : await db.query<{ at: Date | null }>(
        `SELECT max(pg_xact_commit_timestamp(x::text::xid)) AS at FROM generate_series(greatest(3, $1::bigint - 1000), $1::bigint - 1) x`,
        [c.oldestActiveXid],
      );
  if (!r?.at) return { why: 'live reports no commit time (track_commit_timestamp was off until recently)' };
  const how = exact
    ? `live's last commit (track_commit_timestamp), archived before its last checkpoint ${c.lsn}`
    : `the newest commit among the transactions that had ended before live's ` +
      `last archived checkpoint ${c.lsn} (later commits may not be archived yet)`;
  return { bound: { at: r.at.toISOString(), commitAt: true, how } };
}
