// Gate 7's evidence: a bounded history of samples. The soak holds from the first clean sample
// after the last bad one (the unobserved time between a bad and a clean sample is not counted),
// and a gap between samples longer than max-sample-gap restarts it: an unobserved hour is not a
// clean hour. Samples trimmed off the front leave their fold state in `carry`, so trimming
// never changes the streak.
import { describeError } from '../errors.js';

export interface Sample {
  /** ISO time of the measurement. */
  t: string;
  /** Every streak gate passed. */
  ok: boolean;
  /** Failing gate names (bad samples only). */
  fail?: string[];
  /** Subscriber lag bytes, slot retained bytes, seconds since the last message. */
  lag?: number;
  slot?: number;
  age?: number;
}

export interface StreakBreak {
  kind: 'bad' | 'gap';
  /** Time of the bad sample, or of the sample after the gap. */
  at: string;
  gapMs?: number;
  fail?: string[];
}

/** The fold of the streak over samples, kept for those trimmed away. */
export interface FoldState {
  start?: string;
  last?: string;
  lastBreak?: StreakBreak;
}

export interface HistoryRecord {
  version: 1;
  carry?: FoldState;
  samples: Sample[];
}

export interface Streak {
  /** Observed clean time: from the streak's first sample to the newest sample. */
  cleanMs: number;
  since?: string;
  lastBreak?: StreakBreak;
  /** Time of the newest sample. */
  last?: string;
}

export const emptyHistory = (): HistoryRecord => ({ version: 1, samples: [] });

const ms = (iso: string) => Date.parse(iso);

function step(state: FoldState, s: Sample, maxGapMs: number): FoldState {
  const next: FoldState = { ...state, last: s.t };
  if (state.last !== undefined && ms(s.t) - ms(state.last) > maxGapMs) {
    next.start = undefined;
    next.lastBreak = { kind: 'gap', at: s.t, gapMs: ms(s.t) - ms(state.last) };
  }
  if (!s.ok) {
    next.start = undefined;
    next.lastBreak = { kind: 'bad', at: s.t, ...(s.fail?.length ? { fail: s.fail } : {}) };
  } else if (next.start === undefined) {
    next.start = s.t;
  }
  return next;
}

function fold(record: HistoryRecord, maxGapMs: number): FoldState {
  return record.samples.reduce((st, s) => step(st, s, maxGapMs), record.carry ?? {});
}

export function computeStreak(record: HistoryRecord, maxGapMs: number): Streak {
  const st = fold(record, maxGapMs);
  const cleanMs = st.start !== undefined && st.last !== undefined ? ms(st.last) - ms(st.start) : 0;
  return { cleanMs, since: st.start, lastBreak: st.lastBreak, last: st.last };
}

/** Appends a sample in time order and trims to `size`, folding the trimmed samples into carry. */
export function appendSample(record: HistoryRecord, sample: Sample, size: number, maxGapMs: number): HistoryRecord {
  const samples = [...record.samples, sample].sort((a, b) => ms(a.t) - ms(b.t));
  const drop = Math.max(0, samples.length - size);
  if (drop === 0) return { version: 1, ...(record.carry ? { carry: record.carry } : {}), samples };
  const carry = samples.slice(0, drop).reduce((st, s) => step(st, s, maxGapMs), record.carry ?? {});
  return { version: 1, carry, samples: samples.slice(drop) };
}

/** Reads a stored record; anything unreadable is reported, never trusted. */
export function parseHistory(text: string | undefined): { record: HistoryRecord; problem?: string } {
  if (!text) return { record: emptyHistory() };
  try {
    const doc = JSON.parse(text) as Partial<HistoryRecord>;
    if (doc.version !== 1 || !Array.isArray(doc.samples)) throw new Error('unknown format');
    const samples = doc.samples.filter(
      (s): s is Sample => !!s && typeof s.t === 'string' && Number.isFinite(ms(s.t)) && typeof s.ok === 'boolean',
    );
    const dropped = doc.samples.length - samples.length;
    return {
      record: {
        version: 1,
        ...(doc.carry ? { carry: doc.carry } : {}),
        samples: samples.sort((a, b) => ms(a.t) - ms(b.t)),
      },
      problem: dropped ? `${dropped} malformed sample(s) ignored` : undefined,
    };
  } catch (err) {
    return { record: emptyHistory(), problem: `history unreadable (${describeError(err)}); starting a new one` };
  }
}
