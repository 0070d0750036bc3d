// Bisection of a differing table's key ranges (content-bisect.ts) against in-memory sides: rows keyed
// by one or two columns, compared as tuples as PostgreSQL's row comparison does; and the range SQL.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bisect,
  BISECT_LIMITS,
  boundHit,
  splitAt,
  splitRange,
  type BisectSide,
} from '../../actions/lib/drill/content-bisect.js';
import { narrowingText, rangeText } from '../../actions/lib/drill/content-narrow.js';
import { rangeDigestSql, type KeyColumn, type KeyRange } from '../../actions/lib/postgres/content-ranges.js';

type Row = { key: string[]; hash: bigint };

/** Lexicographic tuple order; numeric-looking values compared as numbers (the fake's "types"). */
const cmp = (a: string[], b: string[]) => {
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    const c = /^-?\d+$/.test(x) && /^-?\d+$/.test(y) ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (c) return c;
  }
  return 0;
};
const inRange = (k: string[], r: KeyRange) => (!r.lo || cmp(k, r.lo) >= 0) && (!r.hi || cmp(k, r.hi) < 0);

/** A side over `rows`, counting the statements it is asked for. */
function side(rows: Row[], onNth: (calls: number) => void = () => {}): BisectSide & { reads: number; nth: number } {
  const sorted = [...rows].sort((a, b) => cmp(a.key, b.key));
  const s = {
    reads: 0,
    nth: 0,
    async digests(ranges: KeyRange[]) {
      s.reads++;
      return ranges.map((r) => {
        const inside = sorted.filter((x) => inRange(x.key, r));
        return { rows: inside.length, sum: inside.reduce((n, x) => n + x.hash, 0n).toString() };
      });
    },
    async nthKey(range: KeyRange, n: number) {
      onNth(++s.nth);
      return sorted.filter((x) => inRange(x.key, range))[n].key;
    },
  };
  return s;
}

const whole = async (l: BisectSide, r: BisectSide) => ({
  live: (await l.digests([{}]))[0],
  restored: (await r.digests([{}]))[0],
});

const table = (n: number, key = (i: number) => [String(i)]) =>
  Array.from({ length: n }, (_, i) => ({ key: key(i + 1), hash: BigInt(i * 7919 + 13) }));

describe('bisection of key ranges', () => {
  it('a changed row in 30,000: down to that one row on each side, in about log2(30,000) rounds', async () => {
    const live = table(30_000);
    const restored = live.map((r) => (r.key[0] === '15000' ? { ...r, hash: r.hash + 1n } : r));
    const [l, r] = [side(live), side(restored)];
    const b = await bisect(l, r, await whole(l, r));
    expect(b.stopped).toBeUndefined();
    expect(b.ranges).toHaveLength(1);
    const [d] = b.ranges;
    expect(inRange(['15000'], d.range)).toBe(true);
    expect([d.live.rows, d.restored.rows]).toEqual([1, 1]);
    expect(b.rounds).toBeGreaterThanOrEqual(14);
    expect(b.rounds).toBeLessThanOrEqual(16);
  });

  it('a dropped row and an added row: each its own range, with the rows on each side', async () => {
    const live = table(1000);
    const restored = [...live.filter((r) => r.key[0] !== '300'), { key: ['5000'], hash: 5n }];
    const [l, r] = [side(live), side(restored)];
    const b = await bisect(l, r, await whole(l, r));
    const counts = b.ranges.map((d) => [d.live.rows, d.restored.rows]).sort();
    expect(counts).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(b.ranges.some((d) => inRange(['300'], d.range) && d.live.rows === 1)).toBe(true);
  });

  it('the newest 1,000 of 100,000 rows lost: one range, from the first lost key, live 1,000, restored 0', async () => {
    const live = table(100_000);
    const [l, r] = [side(live), side(live.slice(0, 99_000))];
    const b = await bisect(l, r, await whole(l, r));
    expect(b.stopped).toBeUndefined();
    expect(b.ranges.map((d) => [d.range, d.live.rows, d.restored.rows])).toEqual([[{ lo: ['99001'] }, 1000, 0]]);
    expect(b.rounds).toBeLessThanOrEqual(18);
  });

  it('rows added in a block and rows lost in a block: a range each, one side empty, found whatever the sizes', async () => {
    const live = table(20_000);
    const restored = live.filter((x) => Number(x.key[0]) <= 5000 || Number(x.key[0]) > 5100);
    restored.push(...table(300).map((x) => ({ key: [String(30_000 + Number(x.key[0]))], hash: 1n })));
    const [l, r] = [side(live), side(restored)];
    const b = await bisect(l, r, await whole(l, r));
    const got = b.ranges.map((d) => [d.live.rows, d.restored.rows]).sort();
    expect(got).toEqual([
      [0, 300],
      [100, 0],
    ]);
    expect(b.ranges.find((d) => d.live.rows === 100)!.range.lo).toEqual(['5001']);
  });

  const scattered = (rows: Row[]) => rows.map((x) => (Number(x.key[0]) % 1000 === 0 ? { ...x, hash: 0n } : x));
  const covered = (b: { ranges: { range: KeyRange }[] }) =>
    Array.from({ length: 30 }, (_, i) => [String((i + 1) * 1000)]).every((k) =>
      b.ranges.some((d) => inRange(k, d.range)),
    );

  it('the time budget is checked before each range is split: it stops within one read, keeping what it found', async () => {
    const live = table(30_000);
    let t = 0;
    // Each split key read takes 100 ms; 30 scattered rows differ, so a round soon splits many ranges.
    const l = side(live, () => (t += 100));
    const r = side(scattered(live), () => (t += 100));
    const b = await bisect(l, r, await whole(l, r), { ...BISECT_LIMITS, ms: 1000, maxRanges: 100 }, () => t);
    expect(b.stopped).toBe('the time budget (1 s)');
    expect(l.nth + r.nth).toBe(10);
    expect(covered(b)).toBe(true);
  });

  it('cancellation is checked before each read: it stops, keeping what it found', async () => {
    const live = table(30_000);
    const abort = new AbortController();
    const l = side(live, (n) => n === 3 && abort.abort());
    const r = side(scattered(live));
    const b = await bisect(l, r, await whole(l, r), { ...BISECT_LIMITS, maxRanges: 100 }, undefined, abort.signal);
    expect(b.stopped).toBe('the drill being cancelled');
    expect(l.nth + r.nth).toBe(3);
    expect(covered(b)).toBe(true);
  });

  it('a read failing part-way (statement timeout): the ranges found so far are reported, saying why it stopped', async () => {
    const live = table(30_000);
    const l = side(live, (n) => {
      if (n === 6) throw new Error('canceling statement due to statement timeout');
    });
    const r = side(scattered(live));
    const b = await bisect(l, r, await whole(l, r), { ...BISECT_LIMITS, maxRanges: 100 });
    expect(b.failed).toBe('canceling statement due to statement timeout');
    expect(b.ranges.length).toBeGreaterThan(1);
    expect(covered(b)).toBe(true);
    expect(narrowingText(b)).toBe(
      `bisected in ${b.rounds} round(s), narrowing stopped: canceling statement due to statement timeout`,
    );
  });

  it('composite keys: split and compared as tuples', async () => {
    const live = table(2000, (i) => [`k${i % 7}`, String(i)]);
    const restored = live.map((r) => (r.key[0] === 'k3' && r.key[1] === '1200' ? { ...r, hash: 0n } : r));
    const [l, r] = [side(live), side(restored)];
    const b = await bisect(l, r, await whole(l, r));
    expect(b.ranges).toHaveLength(1);
    expect(inRange(['k3', '1200'], b.ranges[0].range)).toBe(true);
    expect(b.ranges[0].live.rows).toBe(1);
  });

  it('bounded: the round limit, the time budget and too many ranges stop it, saying which', async () => {
    const live = table(30_000);
    const restored = live.map((r) => (r.key[0] === '15000' ? { ...r, hash: 0n } : r));
    const [l, r] = [side(live), side(restored)];
    const start = await whole(l, r);
    const few = await bisect(l, r, start, { ...BISECT_LIMITS, rounds: 3 });
    expect(few).toMatchObject({ rounds: 3, stopped: 'the round limit (3 rounds)' });
    expect(few.ranges[0].live.rows).toBeGreaterThan(3000);
    let t = 0;
    const slow = await bisect(l, r, start, { ...BISECT_LIMITS, ms: 1000 }, () => (t += 400));
    expect(slow.stopped).toBe('the time budget (1 s)');
    expect(slow.rounds).toBeLessThan(3);
    const scattered = live.map((x) => (Number(x.key[0]) % 1000 === 0 ? { ...x, hash: 0n } : x));
    const many = await bisect(l, side(scattered), await whole(l, side(scattered)), { ...BISECT_LIMITS, maxRanges: 4 });
    expect(many.stopped).toBe('more than 4 ranges differ');
    expect(many.ranges.length).toBeGreaterThan(4);
    expect(boundHit(0, 0, 0, BISECT_LIMITS)).toBeUndefined();
  });

  it('the split: at the median of the side with more rows; halves meet at the split key', () => {
    const d = { range: { lo: ['1'] }, live: { rows: 9, sum: '1' }, restored: { rows: 4, sum: '1' } };
    expect(splitAt(d)).toEqual({ side: 'live', n: 4 });
    expect(splitAt({ ...d, live: { rows: 0, sum: '0' } })).toEqual({ side: 'restored', n: 2 });
    expect(splitRange({ lo: ['1'] }, ['5'])).toEqual([{ lo: ['1'], hi: ['5'] }, { lo: ['5'] }]);
    expect(splitRange({}, ['a', '2'])).toEqual([{ hi: ['a', '2'] }, { lo: ['a', '2'] }]);
  });
});

describe('key ranges in SQL and in words', () => {
  const pair: KeyColumn[] = [
    { name: 'code', type: 'text', collatable: true },
    { name: 'n', type: 'integer', collatable: false },
  ];
  it('a composite range is a row comparison in the "C" collation, values as typed parameters', () => {
    const { sql, params } = rangeDigestSql(
      { schema: 'public', name: 'pair' },
      pair,
      [{ hi: ['b', '2'] }, { lo: ['b', '2'] }],
      undefined,
    );
    expect(sql).toContain(
      'WHEN ROW(__cnpg_drill_row__."code" COLLATE "C", __cnpg_drill_row__."n") < ROW($1::text COLLATE "C", $2::integer) THEN 0',
    );
    expect(sql).toContain('>= ROW($3::text COLLATE "C", $4::integer) THEN 1');
    expect(params).toEqual(['b', '2', 'b', '2']);
  });

  it('in words, hashed when the keys are sensitive', () => {
    const id: KeyColumn[] = [{ name: 'id', type: 'integer', collatable: false }];
    expect(rangeText(id, { lo: ['3'], hi: ['4'] })).toBe('id in [3, 4)');
    expect(rangeText(id, { hi: ['4'] })).toBe('id < 4');
    expect(rangeText(pair, { lo: ['a', '1'] })).toBe('(code, n) >= (a, 1)');
    expect(rangeText(id, {})).toBe('id: the whole table');
    expect(rangeText(id, { lo: ['3'], hi: ['4'] }, randomBytes(32))).toMatch(
      /^id in \[#[0-9a-f]{12}, #[0-9a-f]{12}\)$/,
    );
  });

  it('hashed with a keyed hash: the same within a run (one key), not recomputable without the key', () => {
    const id: KeyColumn[] = [{ name: 'id', type: 'integer', collatable: false }];
    const [run, other] = [randomBytes(32), randomBytes(32)];
    const text = rangeText(id, { lo: ['1234'] }, run);
    expect(rangeText(id, { lo: ['1234'] }, run)).toBe(text);
    expect(rangeText(id, { lo: ['1234'] }, other)).not.toBe(text);
    // A bare sha256 of the value (what trying candidate ids would find) is not what is shown.
    expect(text).not.toContain(createHash('sha256').update('1234').digest('hex').slice(0, 12));
    expect(text).toBe(`id >= #${createHmac('sha256', run).update('1234').digest('hex').slice(0, 12)}`);
  });
});
