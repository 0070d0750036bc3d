// The quiet proof (quiet.ts) step by step, where the quiet restore stops, and how long waiting for
// the snapshot's segment can pay off (same-moment.ts waitBudget).
import { describe, expect, it } from 'vitest';
import { proveQuiet, quietTarget, type Checkpoint } from '../../actions/lib/drill/quiet.js';
import { retake, snapshotsAgree, waitBudget, type ArchiveState } from '../../actions/lib/drill/same-moment.js';

const N = (5n << 32n) | 1000n; // epoch 5, xid 1000
const c: Checkpoint = { lsn: '0/9000060', timeline: 1, nextXid: N, oldestActiveXid: 1000, at: '2026-12-01T06:00:00Z' };
const idle = { xmax: N, next: N, xip: 0 };

describe('retake: when the snapshot is taken again a moment later', () => {
  it('a write in flight, or a position at a segment’s start on a writing live (the pin could only give up)', () => {
    expect(retake({ exact: false, quiet: false, offset: 5000, tries: 12 })).toBe(true);
    // Just switched, nothing in the segment: only live's next write gets it archived (waitBudget: no wait).
    expect(retake({ exact: true, quiet: false, offset: 40, tries: 1 })).toBe(true);
    expect(retake({ exact: true, quiet: false, offset: 5000, tries: 1 })).toBe(false);
    // A quiet live is proven from its checkpoint, with no wait: never retaken.
    expect(retake({ exact: true, quiet: true, offset: 40, tries: 1 })).toBe(false);
    expect(retake({ exact: false, quiet: true, offset: 5000, tries: 1 })).toBe(false);
  });
  it('a live that wrote and stopped: segment-start retakes end after about a second, in-flight ones go on', () => {
    expect(retake({ exact: true, quiet: false, offset: 40, tries: 7 })).toBe(true);
    expect(retake({ exact: true, quiet: false, offset: 40, tries: 8 })).toBe(false);
    expect(retake({ exact: false, quiet: false, offset: 40, tries: 8 })).toBe(true);
  });
});

describe('snapshotsAgree: one moment the restore can stop at', () => {
  const at = (lsn: string, o: Partial<typeof idle> = {}) => ({ lsn, ...idle, ...o });
  it('holds with nothing in flight and every database at one position', () => {
    expect(snapshotsAgree([at('0/9000100'), at('0/9000100')])).toMatchObject({ exact: true, inFlight: 0 });
  });
  it('not with a write below xmax, one at or past xmax (its commit record may precede the position), or two positions', () => {
    expect(snapshotsAgree([at('0/9000100', { xip: 1 })])).toMatchObject({ exact: false, inFlight: 1 });
    expect(snapshotsAgree([at('0/9000100', { next: N + 1n })])).toMatchObject({ exact: false, inFlight: 1 });
    expect(snapshotsAgree([at('0/9000100'), at('0/9000200')]).exact).toBe(false);
  });
});

describe('proveQuiet', () => {
  it('holds when nothing ran at the last checkpoint and no xid was assigned since, in every database', () => {
    const p = proveQuiet(c, [idle, idle]);
    expect(p.ok).toBe(true);
    expect(p.why).toMatch(/^live was idle: no transaction was running at live's last checkpoint \(0\/9000060/);
  });

  it('fails, saying which step, for each way live was not idle', () => {
    const cases: [Checkpoint | undefined, (typeof idle)[], RegExp][] = [
      [undefined, [idle], /live's last checkpoint could not be read \(permission denied\)/],
      [{ ...c, oldestActiveXid: 0 }, [idle], /recorded no oldest running transaction/],
      [{ ...c, oldestActiveXid: 998 }, [idle], /transaction 998 was still running at live's last checkpoint/],
      // an xid assigned after the checkpoint, not ended: invisible to the snapshot, its commit may precede it
      [c, [{ xmax: N, next: N + 1n, xip: 0 }], /live wrote after .*: next xid \d+ then, \d+ at the snapshot/],
      // a transaction ended after the checkpoint
      [c, [idle, { xmax: N + 2n, next: N + 2n, xip: 0 }], /live wrote after/],
      [c, [{ xmax: N, next: N, xip: 1 }], /1 in flight/],
    ];
    for (const [cp, snaps, why] of cases) {
      const p = proveQuiet(cp, snaps, 'permission denied');
      expect(p.ok).toBe(false);
      expect(p.why).toMatch(why);
    }
  });

  it('compares the 32-bit oldest running xid with the next xid of the same epoch', () => {
    expect(
      proveQuiet({ ...c, nextXid: (7n << 32n) | 1000n }, [
        { xmax: (7n << 32n) | 1000n, next: (7n << 32n) | 1000n, xip: 0 },
      ]).ok,
    ).toBe(true);
  });
});

describe('quietTarget', () => {
  it('stops at the later of the checkpoint record and the restored backup end', () => {
    expect(quietTarget(c, '0/8000100')).toBe('0/9000060');
    expect(quietTarget(c, '0/A000028')).toBe('0/A000028');
    expect(quietTarget(c, undefined)).toBeUndefined();
  });
});

describe('waitBudget', () => {
  const a: ArchiveState = {
    segment: '00000001000000000000000A',
    archived: false,
    last: '000000010000000000000009',
    lastAt: '2026-12-01T06:00:00Z',
    now: '2026-12-01T06:00:20Z',
    archiveTimeoutMs: 60_000,
    current: true,
    offset: 12_000,
  };
  it('a segment holding writes: at most archive_timeout (and the copy), within same-moment-wait', () => {
    expect(waitBudget(a, 360_000)).toEqual({ ms: 70_000 });
    expect(waitBudget(a, 5_000)).toEqual({ ms: 5_000 });
    expect(waitBudget({ ...a, now: '2026-12-01T07:00:00Z' }, 360_000)).toEqual({ ms: 70_000 });
  });
  it('an empty segment, or a few bytes archive_timeout passed over: no wait, saying why', () => {
    expect(waitBudget({ ...a, offset: 40 }, 360_000)).toMatchObject({
      ms: 0,
      why: expect.stringMatching(/was empty when live was counted/),
    });
    expect(waitBudget({ ...a, offset: 200 }, 360_000)).toEqual({ ms: 70_000 });
    expect(waitBudget({ ...a, offset: 200, now: '2026-12-01T06:02:00Z' }, 360_000)).toMatchObject({
      ms: 0,
      why: expect.stringMatching(/held 200 bytes and archive_timeout \(60 s\) has not switched it/),
    });
  });
  it('a few bytes no transaction wrote since the segment began (an idle server’s records): no wait, saying why', () => {
    // The CI case (test/drill/drill-targets.test.ts): retaken at the start of 1B, the snapshot landed at
    // 0/1B000060 after a running-xacts record only; waiting for archive_timeout cost 15 s for nothing.
    expect(waitBudget({ ...a, offset: 96 }, 360_000, '2861')).toMatchObject({
      ms: 0,
      why: expect.stringMatching(/held 96 bytes and no transaction had written in it \(next xid 2861 at its start/),
    });
    expect(waitBudget({ ...a, offset: 96 }, 360_000)).toEqual({ ms: 70_000 });
    expect(waitBudget({ ...a, offset: 12_000 }, 360_000, '2861')).toEqual({ ms: 70_000 });
  });
  it('archive_timeout off: only same-moment-wait bounds it', () => {
    expect(waitBudget({ ...a, archiveTimeoutMs: 0 }, 360_000)).toEqual({ ms: 360_000 });
  });
});
