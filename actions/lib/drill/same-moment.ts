// Live's counts and the restore describe the same WAL point. Live is counted in one exported
// snapshot per database (pg_export_snapshot, imported by every counting transaction); the very
// statement that takes the snapshot reads pg_current_wal_insert_lsn(), the position just past
// every commit record the snapshot can see. The restore then stops just before that position
// (recoveryTarget.targetLSN with exclusive: recovery_target_inclusive = off replays exactly the
// records that start before it), once its segment is archived. What remains: a commit whose
// record was written but which was not yet visible when the snapshot was taken (it is in the
// snapshot's in-progress list). Such snapshots are retaken; when every try has one, or the
// databases' positions differ, the counts fall back to the row-count tolerance, saying why.
// On a quiet live database the segment holding that position is never archived; there the
// moment is proven from live's last checkpoint instead (quiet.ts), with no wait.
import type { RecoveryTarget } from '../cnpg/types.js';
import { sleep } from '../kube/retry.js';
import type { ReadOnlyDb, ReadOnlyOptions } from '../postgres/readonly.js';
import { ReadOnlyDb as Db } from '../postgres/readonly.js';
import { parseLsn } from './rpo.js';
import { proveQuiet, readCheckpoint, type Checkpoint, type QuietProof } from './quiet.js';
import type { DatabaseComparison } from './result.js';
import { segmentArchived } from './restore-point.js';
import type { Session } from './sessions.js';

/** Where the recovery stops and how counts are judged (the same-moment phase chooses it). */
export interface Pin {
  recoveryTarget?: RecoveryTarget;
  /** Counts judged with no slack (the moment is exact and the recovery stops there). */
  exact: boolean;
  /** How counts are judged and why, for the report. */
  judging: string;
}

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
  /** Live's last checkpoint, read before the snapshot (quiet.ts). */
  checkpoint?: Checkpoint;
  /**
   * The next xid when an earlier try with nothing in flight saw the snapshot's segment at its very
   * start, set only when the snapshot's is the same and live is not proven quiet: no transaction has
   * written in that segment (waitBudget). Records written with no xid may be there (running xacts,
   * and also a checkpoint, vacuum or restore point, which archive_timeout would switch).
   */
  unwrittenSince?: string;
  /** Whether live was provably idle from that checkpoint to the snapshot (quiet.ts). */
  quiet: QuietProof;
}

// age(xid) reads the next xid without assigning one (GetStableLatestTransactionId): next = xmax + age.
export const OPENING = `SELECT pg_export_snapshot() AS id, pg_current_wal_insert_lsn()::text AS lsn, clock_timestamp() AS at,
  cardinality(ARRAY(SELECT pg_snapshot_xip(pg_current_snapshot()))) AS xip,
  pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
  age((pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::text::xid) AS ahead,
  pg_size_bytes(current_setting('wal_segment_size'))::text AS seg`;

const TRIES = 20;
/** Tries (about 0.9 s of back-off) a snapshot at a segment's start is retaken for: a writing live writes by then. */
const SEGMENT_START_TRIES = 8;

interface Opened {
  session: Session;
  id: string;
  lsn: string;
  at: Date;
  xip: number;
  xmax: bigint;
  next: bigint;
  /** The position's offset in its WAL segment. */
  offset: number;
}

class Retake extends Error {}

/** Opens one exporting transaction per session (nested, all held open), then runs `work` on them. */
function openAll<R>(sessions: Session[], work: (opened: Opened[]) => Promise<R>, acc: Opened[] = []): Promise<R> {
  if (acc.length === sessions.length) return work(acc);
  const session = sessions[acc.length];
  return session.db.transaction(
    async (_q, rows) => {
      const r = rows![0] as {
        id: string;
        lsn: string;
        at: Date;
        xip: number;
        xmax: string;
        ahead: number;
        seg: string;
      };
      const xmax = BigInt(r.xmax);
      const offset = Number(parseLsn(r.lsn) % BigInt(r.seg));
      const o = {
        session,
        id: r.id,
        lsn: r.lsn,
        at: r.at,
        xip: Number(r.xip),
        xmax,
        next: xmax + BigInt(r.ahead),
        offset,
      };
      return openAll(sessions, work, [...acc, o]);
    },
    'REPEATABLE READ',
    OPENING,
  );
}

/**
 * Counts live at one moment: `count(db, session)` runs on a pool that reads in that database's
 * exported snapshot. Snapshots with a write in flight are retaken (up to TRIES), unless live is
 * proven idle (quiet.ts). Live's last checkpoint is read first, before any snapshot is taken.
 */
export async function countAtOneMoment<B>(
  sessions: Session[],
  opts: CountOptions & { signal?: AbortSignal },
  count: (db: ReadOnlyDb, s: Session) => Promise<B>,
): Promise<{ results: B[]; moment: Moment }> {
  let atStart: { segment: bigint; next: bigint } | undefined;
  for (let tries = 1; ; tries++) {
    const read = await readCheckpoint(sessions[0].db).then(
      (checkpoint) => ({ checkpoint, cause: undefined }),
      (err: Error) => ({ checkpoint: undefined, cause: err.message }),
    );
    try {
      return await openAll(sessions, async (opened) => {
        const quiet = proveQuiet(read.checkpoint, opened, read.cause);
        const { inFlight, positions, exact } = snapshotsAgree(opened);
        const first = opened[0];
        const segment = parseLsn(first.lsn) - BigInt(first.offset);
        // Only with nothing in flight: a transaction holding an xid could commit in the segment with no new xid.
        if (first.offset <= SEGMENT_HEADER && inFlight === 0) atStart = { segment, next: first.next };
        if (tries < TRIES && retake({ exact, quiet: quiet.ok, offset: first.offset, tries })) throw new Retake();
        const results = await countEach(opened, opts, count);
        const why = exact
          ? undefined
          : inFlight
            ? `${inFlight} transaction(s) were writing at every one of ${tries} snapshots; ` +
              `a commit among them may be in the restore and not in live's counts`
            : `the databases' snapshots saw different WAL positions (${[...positions].join(', ')}) in ${tries} tries`;
        // A quiet live is never retaken: its first try would vouch for itself, and its stop is elsewhere.
        const unwritten = !quiet.ok && atStart?.segment === segment && atStart.next === first.next;
        const { lsn, at, next } = first;
        return {
          results,
          moment: {
            lsn,
            at: at.toISOString(),
            exact,
            tries,
            why,
            checkpoint: read.checkpoint,
            quiet,
            unwrittenSince: unwritten ? String(next) : undefined,
          },
        };
      });
    } catch (err) {
      if (!(err instanceof Retake)) throw err;
      await sleep(25 * tries, opts.signal);
    }
  }
}

/**
 * Whether to take the snapshots again a moment later: a write was in flight, or the position is at
 * the very start of a WAL segment (just switched, nothing in it yet). The restore's stop needs a record
 * past the position, so that segment is archived only after live's next write (waitBudget): on a live
 * that is writing (not proven quiet) a retake lands after that write, where the pin can wait for
 * archive_timeout (seen under steady load in test/drill/drill-targets.test.ts). A live that wrote and
 * then stopped writes nothing more: segment-start retakes stop after SEGMENT_START_TRIES.
 */
export function retake(s: { exact: boolean; quiet: boolean; offset: number; tries: number }): boolean {
  return !s.quiet && (!s.exact || (s.offset <= SEGMENT_HEADER && s.tries < SEGMENT_START_TRIES));
}

/**
 * Whether the snapshots pin one moment the restore can stop at: every database at the same position,
 * and no write in flight, neither below xmax (the in-progress list) nor at or past it. A transaction
 * inserts its commit record before it leaves the proc array, so one with an xid at or above xmax may
 * have its commit record before the position read with the snapshot and still be invisible to it: the
 * restore would replay it and live's snapshot would not see it (a content difference under load, found
 * by test/drill/drill-content.test.ts). `next` is read after the snapshot, so next = xmax proves none.
 */
export function snapshotsAgree(opened: { lsn: string; xip: number; xmax: bigint; next: bigint }[]): {
  inFlight: number;
  positions: Set<string>;
  exact: boolean;
} {
  const inFlight = opened.reduce((n, o) => n + o.xip + Number(o.next - o.xmax), 0);
  const positions = new Set(opened.map((o) => o.lsn));
  return { inFlight, positions, exact: inFlight === 0 && positions.size === 1 };
}

/** The counting pools' options (the live sessions' own, plus the snapshot each imports). */
type CountOptions = Pick<ReadOnlyOptions, 'statementTimeoutMs' | 'poolSize' | 'settings'> & { applicationName: string };

async function countEach<B>(
  opened: Opened[],
  opts: CountOptions,
  count: (db: ReadOnlyDb, s: Session) => Promise<B>,
): Promise<B[]> {
  const results: B[] = [];
  for (const o of opened) {
    const db = new Db(o.session.db.conn, {
      statementTimeoutMs: opts.statementTimeoutMs,
      poolSize: opts.poolSize,
      applicationName: opts.applicationName,
      settings: opts.settings,
      snapshot: o.id,
    });
    try {
      results.push(await count(db, o.session));
    } finally {
      await db.close();
    }
  }
  return results;
}

/** Where the segment holding an LSN stands against live's archive (pg_stat_archiver, read-only). */
export interface ArchiveState {
  segment: string;
  archived: boolean;
  last?: string;
  lastAt?: string;
  /** Live's now() when read. */
  now: string;
  archiveTimeoutMs: number;
  /** The segment follows the last archived one: it began at the last switch. */
  current: boolean;
  /** Bytes from the segment's start to the LSN. */
  offset: number;
}

/** A segment switched by archive_timeout is in the archive within this (archive_command's copy). */
export const ARCHIVE_COPY_MS = 10_000;

export async function archiveState(db: ReadOnlyDb, lsn: string): Promise<ArchiveState> {
  const [r] = await db.query<{
    segment: string;
    last: string | null;
    lastAt: Date | null;
    now: Date;
    t: string;
    b: string;
  }>(
    `SELECT pg_walfile_name($1::pg_lsn) AS segment, a.last_archived_wal AS last, a.last_archived_time AS "lastAt",
       now() AS now, (SELECT setting FROM pg_settings WHERE name = 'archive_timeout') AS t,
       pg_size_bytes(current_setting('wal_segment_size'))::text AS b FROM pg_stat_archiver a`,
    [lsn],
  );
  const last = r.last ?? undefined;
  const perLog = 0x1_0000_0000n / BigInt(r.b);
  const index = (name: string) => BigInt(`0x${name.slice(8, 16)}`) * perLog + BigInt(`0x${name.slice(16)}`);
  const sameTli = !!last && /^[0-9A-F]{24}$/i.test(last) && last.slice(0, 8) === r.segment.slice(0, 8);
  return {
    segment: r.segment,
    archived: segmentArchived(last, r.segment),
    last,
    lastAt: r.lastAt?.toISOString(),
    now: r.now.toISOString(),
    archiveTimeoutMs: Number(r.t) * 1000,
    current: sameTli && index(r.segment) - index(last!) === 1n,
    offset: Number(parseLsn(lsn) % BigInt(r.b)),
  };
}

/** A segment's long page header: an LSN this close to its segment's start has nothing before it there. */
const SEGMENT_HEADER = 40;
/** Below this, a segment holds a few records at most (an idle server's running-xacts). */
const FEW_BYTES = 1024;

/**
 * How long waiting for the segment can pay off, in ms from now. archive_timeout switches a
 * segment only once it holds important WAL, checking every archive_timeout (CONFORMANCE.md,
 * section moment: CheckArchiveTimeout). A segment that was empty at the snapshot, held a few
 * bytes and was passed over at the last check, or held a few bytes no transaction wrote (the
 * moment's unwrittenSince), waits for live's next write: no wait.
 */
export function waitBudget(
  a: ArchiveState,
  sameMomentWaitMs: number,
  unwrittenSince?: string,
): { ms: number; why?: string } {
  if (a.archiveTimeoutMs <= 0) return { ms: sameMomentWaitMs };
  const bound = a.archiveTimeoutMs + ARCHIVE_COPY_MS;
  const s = Math.round(a.archiveTimeoutMs / 1000);
  if (a.offset <= SEGMENT_HEADER)
    return {
      ms: 0,
      why:
        `segment ${a.segment} was empty when live was counted (nothing written ` +
        `since the last switch), so only live's next write gets it archived`,
    };
  if (a.offset < FEW_BYTES && unwrittenSince)
    return {
      ms: 0,
      why:
        `segment ${a.segment} held ${a.offset} bytes and no transaction had written in it (next xid ` +
        `${unwrittenSince} at its start and at the snapshot, none in flight): not waited for, as what a live ` +
        `that stopped writing logs there (the running-transactions record) is never switched by ` +
        `archive_timeout (${s} s); a checkpoint or vacuum record would have been`,
    };
  const passed = a.current && a.lastAt && Date.parse(a.lastAt) + bound < Date.parse(a.now);
  if (a.offset < FEW_BYTES && passed)
    return {
      ms: 0,
      why:
        `segment ${a.segment} held ${a.offset} bytes and archive_timeout (${s} s) has not switched it ` +
        `since ${a.last} was archived at ${a.lastAt}: nothing in it will be switched until live writes again`,
    };
  return { ms: Math.min(sameMomentWaitMs, bound) };
}

/** Waits (bounded) until the segment holding `lsn` is archived; says how long it took or why not. */
export async function waitLsnArchived(
  db: ReadOnlyDb,
  lsn: string,
  opts: { deadline: number; signal?: AbortSignal },
): Promise<{ ok: boolean; segment: string; ms: number; last?: string }> {
  const started = Date.now();
  let delay = 200;
  for (;;) {
    const a = await archiveState(db, lsn);
    if (a.archived || Date.now() > opts.deadline)
      return { ok: a.archived, segment: a.segment, ms: Date.now() - started, last: a.last };
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
