// Narrowing a table whose digest differs: bisection of its primary-key ranges. Each round splits
// every differing range at the median key of its rows (on the side holding more of them), digests
// the halves on both sides (content-ranges.ts) and keeps the halves that differ; a range stops
// when it holds at most one row on each side. Bounded by rounds, by time and by the number of
// ranges a round may carry; the result says which bound stopped it. Keys only, never row contents.
import type { KeyRange, RangeCount } from '../postgres/content-ranges.js';

/** One side's range reads: digests of disjoint ranges, and the key of a range's n-th row. */
export interface BisectSide {
  digests(ranges: KeyRange[]): Promise<RangeCount[]>;
  nthKey(range: KeyRange, n: number): Promise<string[]>;
}

export interface BisectLimits {
  rounds: number;
  ms: number;
  /** More differing ranges than this after a round: stop (each is still reported). */
  maxRanges: number;
}

/** 24 rounds split a range of 16 M rows down to single rows; a minute of reads on both sides. */
export const BISECT_LIMITS: BisectLimits = { rounds: 24, ms: 60_000, maxRanges: 16 };

export interface RangeDiff {
  range: KeyRange;
  live: RangeCount;
  restored: RangeCount;
}

export interface Bisection {
  ranges: RangeDiff[];
  rounds: number;
  /** Set when a bound stopped it before every range was down to one row a side. */
  stopped?: string;
}

export const differs = (a: RangeCount, b: RangeCount) => a.rows !== b.rows || a.sum !== b.sum;

/** A range holding more than one row on a side can be split further. */
export const divisible = (d: RangeDiff) => Math.max(d.live.rows, d.restored.rows) > 1;

/** [lo, hi) split at `at`: [lo, at) and [at, hi). */
export function splitRange(r: KeyRange, at: string[]): [KeyRange, KeyRange] {
  return [
    { ...(r.lo && { lo: r.lo }), hi: at },
    { lo: at, ...(r.hi && { hi: r.hi }) },
  ];
}

/** Where to split: the median row of the side holding more rows of the range (n >= 1, so both halves hold rows). */
export function splitAt(d: RangeDiff): { side: 'live' | 'restored'; n: number } {
  const side = d.live.rows >= d.restored.rows ? 'live' : 'restored';
  return { side, n: Math.floor(d[side].rows / 2) };
}

/** The halves of a round that still differ, in key order. */
export function differingHalves(halves: KeyRange[], live: RangeCount[], restored: RangeCount[]): RangeDiff[] {
  return halves
    .map((range, i) => ({ range, live: live[i], restored: restored[i] }))
    .filter((d) => differs(d.live, d.restored));
}

/** Why to stop before the next round, if a bound says so. */
export function boundHit(ranges: RangeDiff[], rounds: number, ms: number, l: BisectLimits): string | undefined {
  if (rounds >= l.rounds) return `the round limit (${l.rounds} rounds)`;
  if (ms >= l.ms) return `the time budget (${Math.round(l.ms / 1000)} s)`;
  if (ranges.length > l.maxRanges) return `more than ${l.maxRanges} ranges differ`;
  return undefined;
}

/** Bisects from the whole table (`whole`: both sides' table digests) until single rows or a bound. */
export async function bisect(
  live: BisectSide,
  restored: BisectSide,
  whole: { live: RangeCount; restored: RangeCount },
  limits: BisectLimits = BISECT_LIMITS,
  now: () => number = () => performance.now(),
): Promise<Bisection> {
  const started = now();
  let ranges: RangeDiff[] = [{ range: {}, ...whole }];
  for (let rounds = 0; ; rounds++) {
    const open = ranges.filter(divisible);
    if (!open.length) return { ranges, rounds };
    const stopped = boundHit(ranges, rounds, now() - started, limits);
    if (stopped) return { ranges, rounds, stopped };
    const halves: KeyRange[] = [];
    for (const d of open) {
      const { side, n } = splitAt(d);
      halves.push(...splitRange(d.range, await (side === 'live' ? live : restored).nthKey(d.range, n)));
    }
    const [l, r] = await Promise.all([live.digests(halves), restored.digests(halves)]);
    ranges = [...ranges.filter((d) => !divisible(d)), ...differingHalves(halves, l, r)];
  }
}
