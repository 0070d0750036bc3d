// compareCounts is a pure judgement over two count lists; its edge cases need no server
// (the end-to-end case against real databases is in rowcounts.test.ts).
import { describe, expect, it } from 'vitest';
import { compareCounts } from '../../actions/lib/postgres/compare-counts.js';
import type { TableCount } from '../../actions/lib/postgres/rowcounts.js';

const count = (table: string, rows: number, extra: Partial<TableCount> = {}): TableCount => ({
  schema: 'app',
  table,
  rows,
  method: 'exact',
  ms: 1,
  ...extra,
});
const opts = { tolerance: 0.1, floor: 5 };

describe('compareCounts', () => {
  it('within when |other - live| <= max(tolerance x live, floor), inclusive at the boundary', () => {
    const [atEdge, over, tinyUnderFloor, tinyOverFloor, grew] = compareCounts(
      [count('a', 1000), count('b', 1000), count('c', 3), count('d', 3), count('e', 1000)],
      [count('a', 900), count('b', 899), count('c', 0), count('d', 9), count('e', 1100)],
      opts,
    );
    expect(atEdge).toEqual({
      schema: 'app',
      table: 'a',
      live: 1000,
      other: 900,
      allowed: 100,
      liveSource: 'count',
      otherSource: 'count',
      within: true,
    });
    expect(over).toMatchObject({ within: false, allowed: 100, note: 'differs by 101 rows, more than the 100 allowed' });
    expect(tinyUnderFloor).toMatchObject({ within: true, allowed: 5 });
    expect(tinyOverFloor).toMatchObject({ within: false, allowed: 5 });
    expect(grew).toMatchObject({ within: true });
  });

  it('a table absent on one side, or whose count failed, is not within and says why', () => {
    const result = compareCounts(
      [
        count('only_live', 10),
        count('failed_live', Number.NaN, { error: 'canceling statement due to statement timeout' }),
        count('both', 7),
      ],
      [count('both', 7), count('only_other', 4), count('failed_live', 3)],
      opts,
    );
    expect(result.map((c) => [c.table, c.within, c.note])).toEqual([
      ['both', true, undefined],
      ['failed_live', false, 'not counted on live: canceling statement due to statement timeout'],
      ['only_live', false, 'absent on the other side'],
      ['only_other', false, 'absent on live'],
    ]);
    expect(result[1]).not.toHaveProperty('live');
    expect(result[1].other).toBe(3);
  });

  it('allowed is whole rows: 10 % of 15 allows 1, not 1.5', () => {
    const [c] = compareCounts([count('a', 15)], [count('a', 13)], { tolerance: 0.1, floor: 0 });
    expect(c).toMatchObject({ allowed: 1, within: false });
  });

  it('notes estimates', () => {
    const [both, oneSide] = compareCounts(
      [count('a', 100, { method: 'estimate' }), count('b', 100)],
      [count('a', 100, { method: 'estimate' }), count('b', 100, { method: 'estimate' })],
      opts,
    );
    expect(both).toMatchObject({ within: true, note: 'both counts are estimates (pg_class.reltuples)' });
    expect(oneSide.note).toBe('other count is an estimate (pg_class.reltuples)');
  });

  it('sorts by schema then table, independent of input order', () => {
    const a = { ...count('z', 1), schema: 'b' };
    const b = { ...count('y', 1), schema: 'a' };
    expect(compareCounts([a, b], [b, a], opts).map((c) => `${c.schema}.${c.table}`)).toEqual(['a.y', 'b.z']);
  });

  it('rejects a negative or non-finite tolerance or floor', () => {
    expect(() => compareCounts([], [], { tolerance: -0.1, floor: 0 })).toThrow(
      'tolerance must be a finite number >= 0, got -0.1',
    );
    expect(() => compareCounts([], [], { tolerance: 0.1, floor: Number.NaN })).toThrow(/floor/);
  });
});
