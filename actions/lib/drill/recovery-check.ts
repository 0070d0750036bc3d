// "Recovery stopped where it was asked": where the restore's replay ended (the new timeline's
// switch point, else the replay LSN) and its last replayed commit, against the target. PostgreSQL
// stops a time target before the first commit after it (so the last commit is at or before it),
// an LSN target after the record at it (inclusive) or just before it (exclusive), an immediate
// target at the base backup's end (test/playground/CONFORMANCE.md section 11, Recovery targets).
import type { RecoveryTarget } from '../cnpg/types.js';
import { formatDuration } from '../report/format.js';
import type { ReplayPoint } from './rpo.js';
import { parseLsn } from './rpo.js';

/** A last commit this far before a time target is still "close": CNPG's default archive_timeout. */
export const CLOSE_MS = 5 * 60_000;
const WAL_PAGE = 8192n;

export interface StopExpectation {
  target: RecoveryTarget;
  /** oldest: the base backup's end (LSN and time). */
  backupEndLsn?: string;
  backupEndAt?: string;
  /** pinned: live's now() at the counting snapshot. */
  momentAt?: string;
  walSegmentBytes: number;
}

export interface StopCheck {
  ok: boolean;
  /** Checks that could not be made (no replayed commit time, no replay LSN). */
  unchecked: string[];
  lines: string[];
}

export function checkStop(e: StopExpectation, replay: ReplayPoint): StopCheck {
  const out: StopCheck = { ok: true, unchecked: [], lines: [] };
  const fail = (l: string) => ((out.ok = false), out.lines.push(l));
  const t = e.target;
  const seg = BigInt(e.walSegmentBytes);
  // Exclusive: replay ends at the target, or a page header short of it; inclusive: within the
  // record at it (an XLOG_SWITCH record runs to the segment's end); immediate: at the backup's end.
  if (t.targetLSN)
    lsnCheck(
      out,
      fail,
      replay,
      t.targetLSN,
      t.exclusive ? { min: -WAL_PAGE, max: 0n, what: 'just before' } : { min: 0n, max: seg, what: 'just after' },
    );
  if (t.targetImmediate && e.backupEndLsn)
    lsnCheck(out, fail, replay, e.backupEndLsn, { min: -WAL_PAGE, max: seg, what: 'at the base backup’s end' });
  const limit = t.targetTime ?? (t.targetImmediate ? e.backupEndAt : e.momentAt);
  // Backup end times may be whole seconds: a second of slack there, a millisecond of rounding elsewhere.
  if (limit) commitCheck(out, fail, replay, limit, { close: !!t.targetTime, slackMs: t.targetImmediate ? 1_000 : 1 });
  return out;
}

function lsnCheck(
  out: StopCheck,
  fail: (l: string) => void,
  replay: ReplayPoint,
  target: string,
  w: { min: bigint; max: bigint; what: string },
): void {
  if (!replay.lsn) return void out.unchecked.push(`where replay ended is unknown (${replay.source})`);
  const d = parseLsn(replay.lsn) - parseLsn(target);
  const within = d >= w.min && d <= w.max;
  const where = d === 0n ? 'exactly at' : `${d < 0n ? -d : d} bytes ${d < 0n ? 'before' : 'after'}`;
  const line = `replay ended at ${replay.lsn} (${replay.source}), ${where} ${target} (asked: stop ${w.what} it)`;
  if (within) out.lines.push(line);
  else fail(`recovery did not stop where asked: ${line}`);
}

function commitCheck(
  out: StopCheck,
  fail: (l: string) => void,
  replay: ReplayPoint,
  limit: string,
  { close, slackMs }: { close: boolean; slackMs: number },
): void {
  if (!replay.lastCommitAt) return void out.unchecked.push('the restore reports no replayed commit time');
  const gap = Date.parse(limit) - Date.parse(replay.lastCommitAt);
  const distance = gap >= 0 ? `${formatDuration(gap)} before` : `${formatDuration(-gap)} after`;
  const line = `last replayed commit at ${replay.lastCommitAt}, ${distance} ${limit}`;
  if (gap < -slackMs) fail(`recovery did not stop where asked: ${line} (it must not be after it)`);
  else if (close && gap > CLOSE_MS)
    fail(`recovery stopped far from the target: ${line} (more than ${formatDuration(CLOSE_MS)}; was live idle then?)`);
  else out.lines.push(line);
}
