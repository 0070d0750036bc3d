// `recovery-target`: which point of the recovery window the drill restores. Parsed with the other
// inputs (parseRecoveryTarget), then resolved against the window before anything is created
// (resolveTarget): a target the archive cannot reach is refused with the window it must lie in.
// How CNPG picks the base backup for each form is in test/playground/CONFORMANCE.md (section 11,
// Recovery targets): targetTime -> the newest backup that ended at or before it, targetLSN -> the
// newest whose end LSN is below it; targetImmediate needs a backupID.
import { randomInt } from 'node:crypto';
import type { RecoveryTarget } from '../cnpg/types.js';
import { InputError } from '../inputs.js';
import type { BackupRow } from './inventory.js';
import type { CommitBound } from './last-commit.js';
import { parseLsn, type Rpo } from './rpo.js';
import type { StopCheck } from './recovery-check.js';
import type { TargetReport } from './result.js';
import type { Pin } from './same-moment.js';

export type TargetKind = 'latest' | 'restore-point' | 'time' | 'lsn' | 'oldest' | 'random';

export interface TargetInput {
  kind: TargetKind;
  /** time=: ISO instant; lsn=: the LSN as given. */
  value?: string;
  /** random: the seed (given, or drawn and printed). */
  seed?: number;
  seedGiven?: boolean;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/i;
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const FORMS =
  'latest, restore-point, time=<RFC 3339, e.g. 2026-11-30T06:00:00Z>, lsn=<LSN, e.g. 0/3000060>, oldest or random';

/** Reads `recovery-target` (+ `recovery-target-seed`, and the older `restore-point: true`). */
export function parseRecoveryTarget(
  raw: string | undefined,
  seedRaw: string | undefined,
  restorePoint: boolean,
): TargetInput {
  const v = (raw ?? '').trim();
  // The runner fills in recovery-target's default (latest), so restore-point: true wins over it.
  const t = parseForm(restorePoint && (!v || v === 'latest') ? 'restore-point' : v || 'latest');
  if (restorePoint && t.kind !== 'restore-point')
    throw new InputError(
      'restore-point',
      `'true' contradicts recovery-target '${v}'; use recovery-target: restore-point alone.`,
    );
  if (seedRaw && t.kind !== 'random')
    throw new InputError('recovery-target-seed', 'is only used with recovery-target: random.');
  if (t.kind === 'random') {
    if (seedRaw && !/^\d{1,10}$/.test(seedRaw.trim()))
      throw new InputError(
        'recovery-target-seed',
        `'${seedRaw}' is not a whole number; pass the seed a previous drill printed.`,
      );
    t.seedGiven = !!seedRaw;
    t.seed = seedRaw ? Number(seedRaw.trim()) % 2 ** 32 : randomInt(2 ** 31);
  }
  return t;
}

function parseForm(v: string): TargetInput {
  if (v === 'latest' || v === 'restore-point' || v === 'oldest' || v === 'random') return { kind: v };
  const m = /^(time|lsn)=(.+)$/.exec(v);
  if (m?.[1] === 'time') {
    if (!RFC3339.test(m[2]) || Number.isNaN(Date.parse(m[2])))
      throw new InputError(
        'recovery-target',
        `'${m[2]}' is not an RFC 3339 time with a zone; use e.g. time=2026-11-30T06:00:00Z.`,
      );
    return { kind: 'time', value: new Date(Date.parse(m[2])).toISOString() };
  }
  if (m?.[1] === 'lsn') {
    if (!LSN.test(m[2]))
      throw new InputError(
        'recovery-target',
        `'${m[2]}' is not an LSN; use e.g. lsn=0/3000060 (as pg_current_wal_lsn() prints it).`,
      );
    return { kind: 'lsn', value: m[2].toUpperCase() };
  }
  throw new InputError('recovery-target', `'${v}' is not a recovery target; use ${FORMS}.`);
}

/** What the archive can restore: times and LSNs a target must lie between. */
export interface Window {
  /** Completed object-store backups, oldest first. */
  backups: BackupRow[];
  /** The last WAL segment in the archive and when it was archived (pg_stat_archiver). */
  lastArchivedWal?: string;
  lastArchivedTime?: string;
  walSegmentBytes: number;
  /** The last archived commit (last-commit.ts): a time target needs a commit record after it. */
  commits?: CommitBound;
}

export interface ResolvedTarget {
  kind: TargetKind;
  /** The CNPG recoveryTarget for time / lsn / oldest / random (latest and restore-point are pinned later). */
  recoveryTarget?: RecoveryTarget;
  /** The base backup CNPG's rule picks for it. */
  backup?: BackupRow;
  time?: string;
  lsn?: string;
  seed?: number;
  /** The live cluster's wal_segment_size (bytes). */
  walSegmentBytes?: number;
  /** Time targets only: why live's last archived commit was unknown (the target was held to the last archived WAL). */
  commitUnknown?: string;
  /** One line for the log and the report. */
  describe: string;
}

/** PostgreSQL's FATAL when no commit after a time target is in the WAL it replayed (CONFORMANCE.md, section moment). */
export const TARGET_NOT_REACHED = 'recovery ended before configured recovery target was reached';

/**
 * A recovery that ended without reaching a time target held only to the last archived WAL: the
 * drill could not tell a target past live's last archived commit from WAL missing in the archive,
 * so it is not a failed backup (undefined: judge the failure as it is).
 */
export function unjudgedTimeTarget(target: ResolvedTarget, failure: string): string | undefined {
  if (!target.time || target.commitUnknown === undefined || !failure.includes(TARGET_NOT_REACHED)) return undefined;
  return (
    `the restore ended before the target time ${target.time}: PostgreSQL stops a time target at the first ` +
    `commit after it, and found none in the archive. The drill could not tell live's last archived commit ` +
    `(${target.commitUnknown}), so it cannot tell a time after live's last commit from WAL missing in the ` +
    `archive, and does not judge the backup: choose a time before live's last commit, or re-run once live's ` +
    `last checkpoint is archived`
  );
}

const at = (b: BackupRow) => Date.parse(b.stoppedAt ?? '');

/** The LSN just past the last archived segment (`TTTTTTTTXXXXXXXXYYYYYYYY`). */
export function archivedEndLsn(w: Window): bigint | undefined {
  const m = /^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})$/i.exec(w.lastArchivedWal ?? '');
  if (!m) return undefined;
  const perLog = 0x1_0000_0000n / BigInt(w.walSegmentBytes);
  return (BigInt(`0x${m[1]}`) * perLog + BigInt(`0x${m[2]}`) + 1n) * BigInt(w.walSegmentBytes);
}

export const formatLsn = (v: bigint) =>
  `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffff_ffffn).toString(16).toUpperCase()}`;

/** A seeded uniform [0, 1) (mulberry32): the same seed draws the same target. */
export function seededFraction(seed: number): number {
  let a = (seed + 0x6d2b79f5) >>> 0;
  a = Math.imul(a ^ (a >>> 15), a | 1);
  a ^= a + Math.imul(a ^ (a >>> 7), a | 61);
  return ((a ^ (a >>> 14)) >>> 0) / 4294967296;
}

/**
 * The time window: from the oldest backup's end to the last archived commit when live tells it
 * (a target must lie before a commit record), else to the last archived segment's time.
 */
export function timeWindow(w: Window): { from: string; to: string; end: string; before: boolean } | undefined {
  const first = w.backups.find((b) => !Number.isNaN(at(b)));
  if (!first || !w.lastArchivedTime) return undefined;
  const from = new Date(at(first)).toISOString();
  const c = w.commits;
  if (c && (c.commitAt || Date.parse(c.at) < Date.parse(w.lastArchivedTime)))
    return { from, to: c.at, end: c.commitAt ? `the last archived commit: ${c.how}` : c.how, before: c.commitAt };
  return { from, to: w.lastArchivedTime, end: 'the last archived WAL', before: false };
}

/** Resolves a parsed target against the window; an unreachable one throws an InputError (nothing created yet). */
export function resolveTarget(t: TargetInput, w: Window): ResolvedTarget {
  const usable = w.backups.filter((b) => b.backupId);
  if (t.kind === 'latest' || t.kind === 'restore-point')
    return {
      kind: t.kind,
      describe:
        t.kind === 'latest'
          ? 'latest (pinned to live’s counting snapshot when it can be)'
          : 'the restore point this drill creates',
    };
  if (!usable.length)
    throw new InputError('recovery-target', `'${t.kind}' needs a completed object-store backup; the catalog has none.`);
  if (t.kind === 'oldest') {
    const b = usable[0];
    return {
      kind: 'oldest',
      backup: b,
      time: b.stoppedAt,
      lsn: b.endLSN,
      recoveryTarget: { backupID: b.backupId, targetImmediate: true },
      describe: `oldest: backup ${b.name} (${b.backupId}, ended ${b.stoppedAt}) to its consistency point`,
    };
  }
  if (t.kind === 'lsn') return resolveLsn(t.value!, usable, w);
  const win = timeWindow({ ...w, backups: usable });
  if (!win)
    throw new InputError(
      'recovery-target',
      `'${t.kind}' needs the recovery window's times; the archive reports no archived WAL yet.`,
    );
  let time = t.value!;
  if (t.kind === 'random') {
    const from = Date.parse(win.from);
    const span = Date.parse(win.to) - from - (win.before ? 1 : 0);
    time = new Date(from + Math.floor(seededFraction(t.seed!) * Math.max(0, span))).toISOString();
  }
  const ms = Date.parse(time);
  const late = win.before ? ms >= Date.parse(win.to) : ms > Date.parse(win.to);
  if (ms < Date.parse(win.from) || late) {
    const beforeNote = win.before
      ? ' (before that commit: PostgreSQL stops a time target at the first commit after it, and ends with ' +
        '"recovery ended before configured recovery target was reached" when there is none)'
      : '';
    throw new InputError(
      'recovery-target',
      `time ${time} is outside the recovery window ${win.from} .. ${win.to} (oldest backup's end .. ${win.end}); ` +
        `choose a time inside it${beforeNote}.`,
    );
  }
  const backup = usable.filter((b) => at(b) <= ms).at(-1)!;
  const seedNote = t.kind === 'random' ? ` (random, seed ${t.seed}: replay with recovery-target-seed: ${t.seed})` : '';
  return {
    kind: t.kind,
    backup,
    time,
    seed: t.seed,
    recoveryTarget: { targetTime: time },
    describe: `time ${time}${seedNote} from backup ${backup.name} (${backup.backupId})`,
  };
}

function resolveLsn(lsn: string, usable: BackupRow[], w: Window): ResolvedTarget {
  const v = parseLsn(lsn);
  const end = archivedEndLsn(w);
  const ended = usable.filter((b) => b.endLSN && parseLsn(b.endLSN) < v);
  const from = usable.find((b) => b.endLSN)?.endLSN;
  if (!ended.length || end === undefined || v > end) {
    throw new InputError(
      'recovery-target',
      `lsn ${lsn} is outside the recovery window: after ${from ?? '(no backup end LSN)'} (oldest backup's end) ` +
        `up to ${end === undefined ? '(nothing archived)' : formatLsn(end)} (end of the last archived WAL).`,
    );
  }
  const backup = ended.at(-1)!;
  return {
    kind: 'lsn',
    backup,
    lsn,
    recoveryTarget: { targetLSN: lsn },
    describe: `lsn ${lsn} from backup ${backup.name} (${backup.backupId})`,
  };
}

/**
 * RPO from the archive, for restores that stop at a chosen point: what the archive could restore
 * at the drill's start (the end of its newest segment, archived at its time) against live then.
 */
/**
 * The report's target (result.target), assembled once from what choose-target (the target),
 * same-moment (the pin: how counts are judged) and recovery-check (where recovery stopped) gave.
 */
export function targetReport(
  target: ResolvedTarget | undefined,
  pin: Pin | undefined,
  stop: StopCheck | undefined,
  judged: boolean,
): TargetReport | undefined {
  if (!target) return undefined;
  const report: TargetReport = { kind: target.kind, describe: target.describe, seed: target.seed, judged };
  if (pin) Object.assign(report, { judging: pin.judging, lsn: pin.recoveryTarget?.targetLSN });
  if (stop) report.stop = { ok: stop.ok, lines: stop.lines };
  return report;
}

export function rpoFromArchive(
  live: { lsn: string; at: string },
  archiver: { lastArchivedWal?: string; lastArchivedTime?: string } | undefined,
  walSegmentBytes: number,
): Rpo {
  const end = archiver ? archivedEndLsn({ backups: [], ...archiver, walSegmentBytes }) : undefined;
  if (end === undefined || !archiver?.lastArchivedTime)
    return { explanation: 'measured from the archive, but pg_stat_archiver reported no archived WAL' };
  const bytes = Math.max(0, Number(parseLsn(live.lsn) - end));
  const seconds =
    bytes === 0 ? 0 : Math.max(0, Math.round((Date.parse(live.at) - Date.parse(archiver.lastArchivedTime)) / 100) / 10);
  return {
    seconds,
    bytes,
    explanation:
      `measured from the archive (the restore itself stopped at its target): live was at WAL ${live.lsn} at ${live.at}; ` +
      `the newest archived segment ${archiver.lastArchivedWal} (ending at ${formatLsn(end)}) ` +
      `was archived at ${archiver.lastArchivedTime}${bytes === 0 ? ', so everything live had written was restorable' : ''}.`,
  };
}
