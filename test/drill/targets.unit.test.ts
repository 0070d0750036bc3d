// recovery-target parsing and resolution against the window, the stop check, exact judging at the
// pinned moment, and the playground's backup choice (as barman-cloud's catalog chooses).
import { describe, expect, it } from 'vitest';
import { InputError } from '../../actions/lib/inputs.js';
import type { BackupRow } from '../../actions/lib/drill/inventory.js';
import {
  archivedEndLsn,
  parseRecoveryTarget,
  resolveTarget,
  rpoFromArchive,
  seededFraction,
  TARGET_NOT_REACHED,
  unjudgedTimeTarget,
  type Window,
} from '../../actions/lib/drill/targets.js';
import { checkStop } from '../../actions/lib/drill/recovery-check.js';
import { judgeExactly } from '../../actions/lib/drill/same-moment.js';
import type { DatabaseComparison } from '../../actions/lib/drill/result.js';
import { chooseBackup } from '../playground/cnpg/bootstrap-recovery.js';

const SEG = 16 * 1024 * 1024;
const backup = (n: number, stoppedAt: string, endLSN: string): BackupRow => ({
  name: `payments-db-backup-2026113${n}`,
  phase: 'completed',
  method: 'barmanObjectStore',
  backupId: `2026113${n}T060000`,
  startedAt: stoppedAt,
  stoppedAt,
  endLSN,
});
const window: Window = {
  backups: [
    backup(0, '2026-11-30T06:00:10Z', '0/3000100'),
    backup(1, '2026-11-30T07:00:10Z', '0/5000100'),
    backup(2, '2026-11-30T08:00:10Z', '0/7000100'),
  ],
  lastArchivedWal: '000000010000000000000009',
  lastArchivedTime: '2026-11-30T08:30:00Z',
  walSegmentBytes: SEG,
};

describe('parseRecoveryTarget', () => {
  it('reads every form, and restore-point: true (the runner fills in latest as the default)', () => {
    expect(parseRecoveryTarget(undefined, undefined, false)).toEqual({ kind: 'latest' });
    expect(parseRecoveryTarget('latest', undefined, true)).toEqual({ kind: 'restore-point' });
    expect(parseRecoveryTarget('time=2026-11-30T07:30:00+01:00', undefined, false)).toEqual({
      kind: 'time',
      value: '2026-11-30T06:30:00.000Z',
    });
    expect(parseRecoveryTarget('lsn=0/5a0001f8', undefined, false)).toEqual({ kind: 'lsn', value: '0/5A0001F8' });
    expect(parseRecoveryTarget('oldest', undefined, false)).toEqual({ kind: 'oldest' });
    expect(parseRecoveryTarget('random', '42', false)).toEqual({ kind: 'random', seed: 42, seedGiven: true });
    const drawn = parseRecoveryTarget('random', undefined, false);
    expect(drawn.seedGiven).toBe(false);
    expect(Number.isInteger(drawn.seed)).toBe(true);
  });

  it('refuses bad forms with one error naming the input and the fix', () => {
    const bad: [string | undefined, string | undefined, boolean, RegExp][] = [
      [
        'newest',
        undefined,
        false,
        /Input 'recovery-target': 'newest' is not a recovery target; use latest, restore-point, time=/,
      ],
      ['time=2026-11-30 06:00:00', undefined, false, /not an RFC 3339 time with a zone/],
      ['time=2026-11-30T06:00:00', undefined, false, /not an RFC 3339 time with a zone/],
      ['lsn=5A0001F8', undefined, false, /not an LSN; use e.g. lsn=0\/3000060/],
      ['oldest', undefined, true, /Input 'restore-point': 'true' contradicts recovery-target 'oldest'/],
      ['latest', '7', false, /Input 'recovery-target-seed': is only used with recovery-target: random/],
      ['random', 'abc', false, /Input 'recovery-target-seed': 'abc' is not a whole number/],
    ];
    for (const [v, seed, rp, re] of bad) {
      expect(() => parseRecoveryTarget(v, seed, rp)).toThrow(InputError);
      expect(() => parseRecoveryTarget(v, seed, rp)).toThrow(re);
    }
  });
});

describe('resolveTarget', () => {
  it('time: the newest backup that ended at or before it; outside the window refused', () => {
    const r = resolveTarget({ kind: 'time', value: '2026-11-30T07:00:10.000Z' }, window);
    expect(r.backup?.backupId).toBe('20261131T060000');
    expect(r.recoveryTarget).toEqual({ targetTime: '2026-11-30T07:00:10.000Z' });
    expect(() => resolveTarget({ kind: 'time', value: '2026-11-30T05:00:00.000Z' }, window)).toThrow(
      /time 2026-11-30T05:00:00.000Z is outside the recovery window 2026-11-30T06:00:10.000Z .. 2026-11-30T08:30:00Z/,
    );
    expect(() => resolveTarget({ kind: 'time', value: '2026-11-30T09:00:00.000Z' }, window)).toThrow(
      /outside the recovery window/,
    );
  });

  it('time and random: held to the last archived commit, refused after it with the reachable range', () => {
    const commits = {
      at: '2026-11-30T08:10:00.000Z',
      commitAt: true,
      how: "live's last commit (track_commit_timestamp)",
    };
    const w = { ...window, commits };
    expect(resolveTarget({ kind: 'time', value: '2026-11-30T08:09:59.999Z' }, w).recoveryTarget).toEqual({
      targetTime: '2026-11-30T08:09:59.999Z',
    });
    // Inside the old window (before the last archived segment), after the last commit: no commit record follows it.
    for (const t of ['2026-11-30T08:10:00.000Z', '2026-11-30T08:20:00.000Z'])
      expect(() => resolveTarget({ kind: 'time', value: t }, w)).toThrow(
        `time ${t} is outside the recovery window 2026-11-30T06:00:10.000Z .. 2026-11-30T08:10:00.000Z (oldest backup's end .. the last archived commit: live's last commit (track_commit_timestamp)); choose a time inside it (before that commit`,
      );
    const times = Array.from({ length: 300 }, (_, seed) =>
      Date.parse(resolveTarget({ kind: 'random', seed }, w).time!),
    );
    expect(Math.max(...times)).toBeLessThan(Date.parse(commits.at));
    // No commit after live's last checkpoint (commit times untracked): nothing later is reachable.
    const idle = { at: '2026-11-30T08:05:01.000Z', commitAt: false, how: 'live has committed nothing since 08:05:00' };
    expect(() =>
      resolveTarget({ kind: 'time', value: '2026-11-30T08:06:00.000Z' }, { ...window, commits: idle }),
    ).toThrow(/\.\. 2026-11-30T08:05:01.000Z \(oldest backup's end \.\. live has committed nothing since 08:05:00\)/);
    expect(resolveTarget({ kind: 'time', value: '2026-11-30T08:05:01.000Z' }, { ...window, commits: idle }).time).toBe(
      '2026-11-30T08:05:01.000Z',
    );
  });

  it('lsn: the newest backup whose end LSN is below it; past the archive or before every backup end refused', () => {
    expect(archivedEndLsn(window)).toBe(10n * BigInt(SEG));
    expect(resolveTarget({ kind: 'lsn', value: '0/5000100' }, window).backup?.backupId).toBe('20261130T060000');
    expect(resolveTarget({ kind: 'lsn', value: '0/5000101' }, window).backup?.backupId).toBe('20261131T060000');
    expect(() => resolveTarget({ kind: 'lsn', value: '0/3000100' }, window)).toThrow(
      /lsn 0\/3000100 is outside the recovery window: after 0\/3000100 .* up to 0\/A000000/,
    );
    expect(() => resolveTarget({ kind: 'lsn', value: '0/A000001' }, window)).toThrow(/outside the recovery window/);
  });

  it('oldest: the oldest backup by its ID, to its consistency point', () => {
    const r = resolveTarget({ kind: 'oldest' }, window);
    expect(r.recoveryTarget).toEqual({ backupID: '20261130T060000', targetImmediate: true });
    expect(() => resolveTarget({ kind: 'oldest' }, { ...window, backups: [] })).toThrow(
      /needs a completed object-store backup/,
    );
  });

  it('random: a seeded time inside the window, the same for the same seed, printed for replay', () => {
    const a = resolveTarget({ kind: 'random', seed: 7 }, window);
    expect(resolveTarget({ kind: 'random', seed: 7 }, window).time).toBe(a.time);
    expect(a.describe).toContain('seed 7: replay with recovery-target-seed: 7');
    const times = Array.from({ length: 200 }, (_, s) =>
      Date.parse(resolveTarget({ kind: 'random', seed: s }, window).time!),
    );
    expect(Math.min(...times)).toBeGreaterThanOrEqual(Date.parse('2026-11-30T06:00:10Z'));
    expect(Math.max(...times)).toBeLessThanOrEqual(Date.parse('2026-11-30T08:30:00Z'));
    const f = Array.from({ length: 1000 }, (_, s) => seededFraction(s));
    expect(f.filter((x) => x < 0.5).length).toBeGreaterThan(400);
    expect(f.filter((x) => x < 0.5).length).toBeLessThan(600);
  });
});

describe('checkStop', () => {
  const target = { targetLSN: '0/6000060', exclusive: true };
  it('pinned (exclusive LSN): replay ends at the position, its last commit not after the snapshot', () => {
    const ok = checkStop(
      { target, momentAt: '2026-11-30T08:00:00.500Z', walSegmentBytes: SEG },
      { lsn: '0/6000060', lastCommitAt: '2026-11-30T08:00:00.499Z', source: 'timeline 2 history' },
    );
    expect(ok).toMatchObject({ ok: true, unchecked: [] });
    const past = checkStop(
      { target, momentAt: '2026-11-30T08:00:00.500Z', walSegmentBytes: SEG },
      { lsn: '0/6000100', lastCommitAt: '2026-11-30T08:00:00.499Z', source: 'x' },
    );
    expect(past.ok).toBe(false);
    expect(past.lines[0]).toMatch(
      /recovery did not stop where asked: replay ended at 0\/6000100 \(x\), 160 bytes after 0\/6000060/,
    );
  });

  it('time: the last replayed commit at or before the target and close to it', () => {
    const t = { targetTime: '2026-11-30T07:30:00.000Z' };
    expect(
      checkStop({ target: t, walSegmentBytes: SEG }, { lastCommitAt: '2026-11-30T07:29:59.800Z', source: 'x' }).ok,
    ).toBe(true);
    expect(
      checkStop({ target: t, walSegmentBytes: SEG }, { lastCommitAt: '2026-11-30T07:30:01.000Z', source: 'x' })
        .lines[0],
    ).toMatch(/must not be after it/);
    expect(
      checkStop({ target: t, walSegmentBytes: SEG }, { lastCommitAt: '2026-11-30T07:00:00.000Z', source: 'x' })
        .lines[0],
    ).toMatch(/recovery stopped far from the target/);
    expect(checkStop({ target: t, walSegmentBytes: SEG }, { source: 'unavailable' }).unchecked).toEqual([
      'the restore reports no replayed commit time',
    ]);
  });

  it('oldest (immediate): replay ends at the backup end, no commit after it', () => {
    const e = {
      target: { backupID: 'b', targetImmediate: true },
      backupEndLsn: '0/3000100',
      backupEndAt: '2026-11-30T06:00:10Z',
      walSegmentBytes: SEG,
    };
    expect(checkStop(e, { lsn: '0/3000100', lastCommitAt: '2026-11-30T05:59:00Z', source: 'x' }).ok).toBe(true);
    expect(checkStop(e, { lsn: '0/7000000', lastCommitAt: '2026-11-30T05:59:00Z', source: 'x' }).ok).toBe(false);
  });
});

describe('judgeExactly and rpoFromArchive', () => {
  it('a row lost in a small table counted exactly fails with no slack; estimated tables keep the tolerance', () => {
    const c = {
      database: 'app',
      counts: [
        { schema: 'public', table: 'customers', live: 20, other: 19, allowed: 10, within: true, liveSource: 'count' },
        {
          schema: 'public',
          table: 'ledger',
          live: 30000,
          other: 29990,
          allowed: 3000,
          within: true,
          liveSource: 'n_live_tup',
        },
      ],
      outOfTolerance: [],
    } as unknown as DatabaseComparison;
    const j = judgeExactly(c);
    expect(j.outOfTolerance.map((x) => [x.table, x.allowed, x.note])).toEqual([
      ['customers', 0, 'differs by 1 rows at the same WAL point (none allowed)'],
    ]);
  });

  it('RPO from the archive: live at start vs the end of the newest archived segment', () => {
    const r = rpoFromArchive(
      { lsn: '0/A000100', at: '2026-11-30T08:31:00Z' },
      { lastArchivedWal: '000000010000000000000009', lastArchivedTime: '2026-11-30T08:30:00Z' },
      SEG,
    );
    expect(r).toMatchObject({ seconds: 60, bytes: 256 });
    expect(r.explanation).toMatch(/measured from the archive/);
  });
});

describe('playground backup choice (barman-cloud catalog)', () => {
  const info = (id: string, end: string, endXlog: string) =>
    ({ backup_id: id, status: 'DONE', end_time: end, end_xlog: endXlog, begin_wal: '', begin_time: end }) as never;
  const list = [
    info('b1', 'Mon Nov 30 06:00:10 2026', '0/3000100'),
    info('b2', 'Mon Nov 30 07:00:10 2026', '0/5000100'),
  ];
  it('time: ended at or before the target; LSN: end LSN strictly below it', () => {
    expect(chooseBackup(list, { targetTime: '2026-11-30T07:00:10Z' })?.backup_id).toBe('b2');
    expect(chooseBackup(list, { targetLSN: '0/5000100' })?.backup_id).toBe('b1');
    expect(chooseBackup(list, { targetLSN: '0/3000100' })).toBeUndefined();
  });
});

describe('a time target PostgreSQL did not reach', () => {
  const fatal = `pod p exited with code 1: FATAL:  ${TARGET_NOT_REACHED}`;
  const time = '2026-12-07T21:55:13.309Z';
  it('held only to the last archived WAL: not judged, with why and what to do', () => {
    const why = `live's last checkpoint (0/5000060) is not archived yet (last archived 000000010000000000000004)`;
    const text = unjudgedTimeTarget({ kind: 'time', time, commitUnknown: why, describe: '' }, fatal);
    expect(text).toContain(`the restore ended before the target time ${time}`);
    expect(text).toContain(why);
    expect(text).toMatch(/does not judge the backup: choose a time before live's last commit/);
  });
  it('held to a known archived commit, or another failure: judged as it is', () => {
    expect(unjudgedTimeTarget({ kind: 'time', time, describe: '' }, fatal)).toBeUndefined();
    expect(
      unjudgedTimeTarget({ kind: 'time', time, commitUnknown: 'x', describe: '' }, 'invalid checkpoint'),
    ).toBeUndefined();
    expect(unjudgedTimeTarget({ kind: 'lsn', lsn: '0/1', commitUnknown: 'x', describe: '' }, fatal)).toBeUndefined();
  });
});
