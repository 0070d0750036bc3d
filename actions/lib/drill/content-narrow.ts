// A differing table narrowed to its smallest differing key ranges (content-bisect.ts). Live's
// snapshot is gone by then (the restore stops at it minutes later), so live is read now, in one
// REPEATABLE READ transaction whose first statement digests the whole table again: only when that
// equals the snapshot's digest (same rows, same sum) is live's table provably unchanged since, and
// every range read later in the same transaction is a range of the snapshot. Otherwise the table is
// reported unnarrowed, saying why. Read-only, under the statement timeout, on a session of live's.
import { createHash } from 'node:crypto';
import { describeError } from '../errors.js';
import { inTextSettings, type Q, type TableDigest } from '../postgres/content-digest.js';
import { keyColumns, nthKey, rangeDigests, type KeyColumn, type KeyRange } from '../postgres/content-ranges.js';
import { SCAN_SETTINGS, setLocalSql, TEXT_SETTINGS } from '../postgres/content-text.js';
import { displayName } from '../postgres/ident.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import type { TableRef } from '../postgres/schema.js';
import { bisect, BISECT_LIMITS, type BisectLimits, type BisectSide, type Bisection } from './content-bisect.js';
import type { DifferingRange, TableContent } from './content-compare.js';

const hashed = (v: string) => `#${createHash('sha256').update(v).digest('hex').slice(0, 12)}`;

/** A key range in words: `id in [3, 4)`, `(a, b) >= (1, x)`, `the whole table`; values hashed with `hide`. */
export function rangeText(key: KeyColumn[], r: KeyRange, hide: boolean): string {
  const one = key.length === 1;
  const cols = one ? displayName(key[0].name) : `(${key.map((c) => displayName(c.name)).join(', ')})`;
  const tuple = (v: string[]) => {
    const shown = v.map((x) => (hide ? hashed(x) : x));
    return one ? shown[0] : `(${shown.join(', ')})`;
  };
  if (r.lo && r.hi) return `${cols} in [${tuple(r.lo)}, ${tuple(r.hi)})`;
  if (r.lo) return `${cols} >= ${tuple(r.lo)}`;
  if (r.hi) return `${cols} < ${tuple(r.hi)}`;
  return `${cols}: the whole table`;
}

/** One side's range reads inside transaction `q` (live), or each in its own transaction (the restore). */
function sideOf(t: TableRef, key: KeyColumn[], run: <R>(f: (q: Q) => Promise<R>) => Promise<R>): BisectSide {
  return {
    digests: (ranges) => run((q) => rangeDigests(q, t, key, ranges)),
    nthKey: (range, n) => run((q) => nthKey(q, t, key, range, n)),
  };
}

/** Ranges in the report: the smallest (most rows on either side) first. */
function report(b: Bisection, key: KeyColumn[], hide: boolean): DifferingRange[] {
  return b.ranges
    .map((d) => ({ range: rangeText(key, d.range, hide), liveRows: d.live.rows, restoredRows: d.restored.rows }))
    .sort((a, c) => Math.max(a.liveRows, a.restoredRows) - Math.max(c.liveRows, c.restoredRows));
}

type Narrowing = Pick<TableContent, 'ranges' | 'narrowing' | 'noPrimaryKey'>;

/** Bisects one differing table: `restore` the restore's pool, `live` a session of live's (undefined: none). */
export async function narrowTable(
  restore: ReadOnlyDb,
  live: Promise<ReadOnlyDb> | undefined,
  l: TableDigest,
  r: TableDigest,
  o: { hide: boolean; limits?: BisectLimits },
): Promise<Narrowing> {
  try {
    const key = await inTextSettings(restore, (q) => keyColumns(q, l));
    if (!key.length) return { noPrimaryKey: true };
    if (!live) return { narrowing: 'not narrowed: no session on live' };
    const db = await live;
    const settings = setLocalSql(TEXT_SETTINGS, SCAN_SETTINGS);
    return await db.transaction(
      async (lq) => {
        const [now] = await rangeDigests(lq, l, key, [{}]);
        if (now.rows !== l.rows || now.sum !== l.sum)
          return { narrowing: 'not narrowed: live’s table has changed since its snapshot, so its ranges now differ' };
        const restored = sideOf(l, key, (f) => inTextSettings(restore, f, SCAN_SETTINGS));
        const b = await bisect(
          sideOf(l, key, (f) => f(lq)),
          restored,
          { live: now, restored: r },
          o.limits ?? BISECT_LIMITS,
        );
        const how = `bisected in ${b.rounds} round(s)${b.stopped ? `, stopped by ${b.stopped}` : ''}`;
        return { ranges: report(b, key, o.hide), narrowing: how };
      },
      'REPEATABLE READ',
      settings,
    );
  } catch (err) {
    return { narrowing: `not narrowed: ${describeError(err)}` };
  }
}
