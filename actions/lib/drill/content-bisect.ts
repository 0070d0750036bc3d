// Narrowing a table whose digest differs: bisection of its primary-key ranges. Each round splits
// every differing range at the median key of its rows (on the side holding more of them), digests
// the halves on both sides (content-ranges.ts) and keeps the halves that differ; a range is final
// when it holds at most one row on each side, or none on one side (adjacent final ranges of one
// kind are merged). Bounded by rounds, by time (checked before every read), by cancellation and by
// the number of differing ranges; the result says which stopped it. Keys only, never row contents.
import { describeError } from '../errors.js';
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
  /** Set when a bound stopped it before every range was final. */
  stopped?: string;
  /** Set when a read failed part-way (e.g. the statement timeout): the ranges found so far are kept. */
  failed?: string;
}

export const differs = (a: RangeCount, b: RangeCount) => a.rows !== b.rows || a.sum !== b.sum;

/**
 * A range holding rows on both sides, more than one on either, can be split further. A range one
 * side holds no row of is final: all its rows are missing (or extra), which says what to look at.
 */
export const divisible = (d: RangeDiff) =>
  Math.min(d.live.rows, d.restored.rows) > 0 && Math.max(d.live.rows, d.restored.rows) > 1;

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

const kindOf = (d: RangeDiff) => (d.restored.rows === 0 ? 'missing' : d.live.rows === 0 ? 'extra' : 'changed');
const sameKey = (a?: string[], b?: string[]) => !!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]);
const added = (a: RangeCount, b: RangeCount) => ({
  rows: a.rows + b.rows,
  sum: (BigInt(a.sum) + BigInt(b.sum)).toString(),
});

/**
 * Final ranges where one ends at the key the next starts at, both of one kind (rows missing,
 * rows extra, or single changed rows), merged: a run of lost rows is one range, not one per split.
 */
export function mergeAdjacent(final: RangeDiff[]): RangeDiff[] {
  const out = [...final];
  for (let i = 0; i < out.length;) {
    const a = out[i];
    const j = out.findIndex((b) => sameKey(a.range.hi, b.range.lo) && kindOf(a) === kindOf(b));
    if (j < 0) {
      i++;
      continue;
    }
    const b = out[j];
    const range = { ...(a.range.lo && { lo: a.range.lo }), ...(b.range.hi && { hi: b.range.hi }) };
    out[i] = { range, live: added(a.live, b.live), restored: added(a.restored, b.restored) };
    out.splice(j, 1);
    if (j < i) i--;
  }
  return out;
}

/** Why to stop now, before more reads: the drill cancelled, or the time budget spent. */
function outOfTime(ms: number, l: BisectLimits, signal?: AbortSignal): string | undefined {
  if (signal?.aborted) return 'the drill being cancelled';
  if (ms >= l.ms) return `the time budget (${Math.round(l.ms / 1000)} s)`;
  return undefined;
}

/** Why to stop before the next round, if a bound says so (`ranges`: how many differ so far). */
export function boundHit(ranges: number, rounds: number, ms: number, l: BisectLimits): string | undefined {
  if (rounds >= l.rounds) return `the round limit (${l.rounds} rounds)`;
  if (ranges > l.maxRanges) return `more than ${l.maxRanges} ranges differ`;
  return outOfTime(ms, l);
}

/** Ranges still to split (`open`) and final ones (`done`, adjacent ones merged). */
interface State {
  done: RangeDiff[];
  open: RangeDiff[];
}

const settle = (s: State, diffs: RangeDiff[]) => {
  s.done = mergeAdjacent([...s.done, ...diffs.filter((d) => !divisible(d))]);
  s.open = diffs.filter(divisible);
};

/** Each open range split at its median key, one range at a time; `stop` is asked before each read. */
async function splitAll(s: State, live: BisectSide, restored: BisectSide, stop: () => string | undefined) {
  const halves: KeyRange[] = [];
  for (const d of s.open) {
    const why = stop();
    if (why) return why;
    const { side, n } = splitAt(d);
    halves.push(...splitRange(d.range, await (side === 'live' ? live : restored).nthKey(d.range, n)));
  }
  return stop() ?? halves;
}

/**
 * Bisects from the whole table (`whole`: both sides' table digests) until every range is final or
 * a bound stops it. The time budget and `signal` are checked before every read, so a stop overruns
 * by at most one statement; a read that fails keeps the ranges found so far (`failed` says why).
 */
export async function bisect(
  live: BisectSide,
  restored: BisectSide,
  whole: { live: RangeCount; restored: RangeCount },
  limits: BisectLimits = BISECT_LIMITS,
  now: () => number = () => performance.now(),
  signal?: AbortSignal,
): Promise<Bisection> {
  const started = now();
  const s: State = { done: [], open: [] };
  settle(s, [{ range: {}, ...whole }]);
  let rounds = 0;
  const found = (stop: { stopped?: string; failed?: string } = {}) => ({
    ranges: [...s.done, ...s.open],
    rounds,
    ...stop,
  });
  try {
    for (; s.open.length; rounds++) {
      const stopped = boundHit(s.done.length + s.open.length, rounds, now() - started, limits);
      if (stopped) return found({ stopped });
      const halves = await splitAll(s, live, restored, () => outOfTime(now() - started, limits, signal));
      if (typeof halves === 'string') return found({ stopped: halves });
      const [l, r] = await Promise.all([live.digests(halves), restored.digests(halves)]);
      settle(s, differingHalves(halves, l, r));
    }
    return found();
  } catch (err) {
    return found({ failed: describeError(err) });
  }
}
