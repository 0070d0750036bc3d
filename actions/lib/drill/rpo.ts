// RPO, measured: how far the restored data trails live at the drill's start.
// Live at start: pg_current_wal_lsn() and now() (plus the last commit time when
// track_commit_timestamp is on). Restored: the LSN where replay ended and the time of the last
// replayed commit. rpo-seconds = drill start - last replayed commit (0 when live shows no later
// commit); rpo-bytes = live LSN at start - replay end LSN (WAL that did not reach the restore).
import type { ReadOnlyDb } from '../postgres/readonly.js';

/** `X/Y` -> byte position. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`'${lsn}' is not an LSN`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

export function lsnDiff(a: string, b: string): number {
  return Number(parseLsn(a) - parseLsn(b));
}

export interface LiveMark {
  lsn: string;
  at: string; // ISO, live's clock
  /** Last commit on live, when track_commit_timestamp is on. */
  lastCommitAt?: string;
}

export interface ReplayPoint {
  /** Where replay ended: the timeline switch point of the promoted restore, else pg_last_wal_replay_lsn(). */
  lsn?: string;
  /** The last replayed commit (pg_last_xact_replay_timestamp), when the server still knows it. */
  lastCommitAt?: string;
  /** Where the numbers came from (for the report). */
  source: string;
}

export interface Rpo {
  seconds?: number;
  bytes?: number;
  explanation: string;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v ? String(v) : undefined);

export async function markLive(db: ReadOnlyDb): Promise<LiveMark> {
  const [r] = await db.query<{ lsn: string; at: Date }>(`SELECT pg_current_wal_lsn()::text AS lsn, now() AS at`);
  let lastCommitAt: string | undefined;
  try {
    const [c] = await db.query<{ ts: Date | null }>(`SELECT (pg_last_committed_xact()).timestamp AS ts`);
    lastCommitAt = iso(c?.ts);
  } catch {
    // track_commit_timestamp off: no commit times on live.
  }
  return { lsn: r.lsn, at: iso(r.at)!, lastCommitAt };
}

/** Reads where replay ended on the restored (promoted) cluster; needs superuser for pg_read_file. */
export async function readReplayPoint(db: ReadOnlyDb): Promise<ReplayPoint> {
  const [r] = await db.query<{ lsn: string | null; ts: Date | null }>(
    `SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_last_xact_replay_timestamp() AS ts`,
  );
  let switchLsn: string | undefined;
  const tli = await db.query<{ tli: number }>(`SELECT timeline_id AS tli FROM pg_control_checkpoint()`).then(
    (x) => x[0]?.tli ?? 1,
    () => 1,
  );
  if (tli > 1) {
    // The history file of the new timeline records the exact LSN where recovery ended.
    const file = `pg_wal/${tli.toString(16).toUpperCase().padStart(8, '0')}.history`;
    try {
      const [h] = await db.query<{ text: string }>(`SELECT pg_read_file($1) AS text`, [file]);
      switchLsn = lastSwitchPoint(h.text);
    } catch {
      // Not readable (no superuser, or the file was recycled): fall back to the replay LSN.
    }
  }
  return {
    lsn: switchLsn ?? r.lsn ?? undefined,
    lastCommitAt: iso(r.ts),
    source: switchLsn ? `timeline ${tli} history` : r.lsn ? 'pg_last_wal_replay_lsn()' : 'unavailable',
  };
}

/** The switch LSN of the newest entry of a timeline history file (`<tli>\t<lsn>\t<reason>`). */
export function lastSwitchPoint(history: string): string | undefined {
  const lines = history
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+\s/.test(l));
  const last = lines.at(-1);
  return last?.split(/\s+/)[1];
}

export function computeRpo(live: LiveMark, replay: ReplayPoint, fallbackDataTime?: { at: string; what: string }): Rpo {
  const start = Date.parse(live.at);
  const bytes = replay.lsn ? Math.max(0, lsnDiff(live.lsn, replay.lsn)) : undefined;
  const parts: string[] = [];
  if (bytes !== undefined)
    parts.push(
      `live was at WAL ${live.lsn} when the drill started; the restore replayed to ${replay.lsn} (${replay.source})`,
    );

  // No later commit on live that we can detect: nothing was lost.
  const liveCommit = live.lastCommitAt ? Date.parse(live.lastCommitAt) : undefined;
  const replayCommit = replay.lastCommitAt ? Date.parse(replay.lastCommitAt) : undefined;
  if (bytes === 0 || (liveCommit !== undefined && replayCommit !== undefined && liveCommit <= replayCommit)) {
    parts.push('live had no later commit, so no committed data is missing');
    return { seconds: 0, bytes: bytes ?? 0, explanation: parts.join('; ') + '.' };
  }
  if (replayCommit !== undefined) {
    parts.push(
      `the last replayed commit was at ${replay.lastCommitAt}, ` +
        `${secondsBetween(replayCommit, start)} s before the drill started: commits after it are not in the restore`,
    );
    return { seconds: secondsBetween(replayCommit, start), bytes, explanation: parts.join('; ') + '.' };
  }
  if (fallbackDataTime) {
    const t = Date.parse(fallbackDataTime.at);
    parts.push(
      `the restore has no replayed commit time (the instance restarted after recovery); ` +
        `${fallbackDataTime.what} at ${fallbackDataTime.at} bounds it: ${secondsBetween(t, start)} s is an upper bound`,
    );
    return { seconds: secondsBetween(t, start), bytes, explanation: parts.join('; ') + '.' };
  }
  parts.push('the time of the last restored commit is unknown');
  return { bytes, explanation: parts.join('; ') + '.' };
}

function secondsBetween(from: number, to: number): number {
  return Math.max(0, Math.round((to - from) / 100) / 10);
}

/**
 * Postgres logs where replay ended when recovery finishes ("redo done at X/Y ... last completed
 * transaction was at log time T"). The recovery Job's pod log keeps that after the instance
 * restarted (which forgets pg_last_xact_replay_timestamp()).
 */
export function replayFromRecoveryLog(log: string): { lsn?: string; lastCommitAt?: string } {
  const redo = [...log.matchAll(/redo done at ([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/g)].at(-1)?.[1];
  const t = [
    ...log.matchAll(
      /last completed transaction was at log time (\d{4}-\d\d-\d\d[ T][\d:.]+(?:[+-]\d\d(?::?\d\d)?|Z)?)/g,
    ),
  ].at(-1)?.[1];
  let lastCommitAt: string | undefined;
  if (t) {
    let v = t.replace(' ', 'T');
    if (/[+-]\d\d$/.test(v)) v += ':00';
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(v)) v += 'Z';
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) lastCommitAt = new Date(ms).toISOString();
  }
  return { lsn: redo, lastCommitAt };
}
