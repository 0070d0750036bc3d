// A differing table narrowed to its smallest differing key ranges (content-bisect.ts). Live's
// snapshot is gone by then (the restore stops at it minutes later), so live is read now, in one
// REPEATABLE READ transaction whose first statement digests the whole table again: only when that
// equals the snapshot's digest (same rows, same sum) is live's table provably unchanged since, and
// every range read later in the same transaction is a range of the snapshot. Otherwise the table is
// reported unnarrowed, saying why. Read-only, under the statement timeout, on a session of live's.
import { createHmac } from 'node:crypto';
import { describeError } from '../errors.js';
import { inTextSettings, type TableDigest } from '../postgres/content-digest.js';
import { keyColumns, nthKey, rangeDigests, type KeyColumn, type KeyRange } from '../postgres/content-ranges.js';
import { SCAN_SETTINGS, setLocalSql, TEXT_SETTINGS } from '../postgres/content-text.js';
import { displayName } from '../postgres/ident.js';
import type { Q, ReadOnlyDb } from '../postgres/readonly.js';
import { rowForms, type RowForm } from '../postgres/content-row.js';
import type { TableRef } from '../postgres/schema.js';
import { bisect, BISECT_LIMITS, type BisectLimits, type BisectSide, type Bisection } from './content-bisect.js';
import type { DifferingRange, TableContent } from './content-compare.js';

// Keyed with a random key drawn per drill run: a bare hash of a low-entropy key (an id, a phone
// number) is undone by hashing candidates; the keyed one only tells ranges apart within one report.
const hashed = (v: string, key: Uint8Array) => `#${createHmac('sha256', key).update(v).digest('hex').slice(0, 12)}`;

/** A key range in words: `id in [3, 4)`, `(a, b) >= (1, x)`, `the whole table`; values hashed with `hashKey`. */
export function rangeText(key: KeyColumn[], r: KeyRange, hashKey?: Uint8Array): string {
  const one = key.length === 1;
  const cols = one ? displayName(key[0].name) : `(${key.map((c) => displayName(c.name)).join(', ')})`;
  const tuple = (v: string[]) => {
    const shown = v.map((x) => (hashKey ? hashed(x, hashKey) : x));
    return one ? shown[0] : `(${shown.join(', ')})`;
  };
  if (r.lo && r.hi) return `${cols} in [${tuple(r.lo)}, ${tuple(r.hi)})`;
  if (r.lo) return `${cols} >= ${tuple(r.lo)}`;
  if (r.hi) return `${cols} < ${tuple(r.hi)}`;
  return `${cols}: the whole table`;
}

/** One side's range reads inside transaction `q` (live), or each in its own transaction (the restore). */
function sideOf(
  t: TableRef,
  key: KeyColumn[],
  form: RowForm,
  run: <R>(f: (q: Q) => Promise<R>) => Promise<R>,
): BisectSide {
  return {
    digests: (ranges) => run((q) => rangeDigests(q, t, key, form, ranges)),
    nthKey: (range, n) => run((q) => nthKey(q, t, key, range, n)),
  };
}

/** Ranges in the report: the smallest (most rows on either side) first. */
function report(b: Bisection, key: KeyColumn[], hashKey?: Uint8Array): DifferingRange[] {
  return b.ranges
    .map((d) => ({ range: rangeText(key, d.range, hashKey), liveRows: d.live.rows, restoredRows: d.restored.rows }))
    .sort((a, c) => Math.max(a.liveRows, a.restoredRows) - Math.max(c.liveRows, c.restoredRows));
}

/** How bisection went, in words: rounds, and what stopped it before every range was final. */
export function narrowingText(b: Bisection): string {
  const stopped = b.stopped ? `, stopped by ${b.stopped}` : '';
  return `bisected in ${b.rounds} round(s)${stopped}${b.failed ? `, narrowing stopped: ${b.failed}` : ''}`;
}

type Narrowing = Pick<TableContent, 'ranges' | 'narrowing' | 'noPrimaryKey'>;

export interface NarrowOptions {
  /** Set for a table listed in content-sensitive-keys: its key values are shown as keyed hashes. */
  hashKey?: Uint8Array;
  limits?: BisectLimits;
  signal?: AbortSignal;
}

/**
 * Bisects one differing table: `restore` the restore's pool, `live` opens (once) a session of
 * live's, only when the table has a primary key to bisect (undefined: none).
 */
export async function narrowTable(
  restore: ReadOnlyDb,
  live: (() => Promise<ReadOnlyDb>) | undefined,
  l: TableDigest,
  r: TableDigest,
  o: NarrowOptions,
): Promise<Narrowing> {
  try {
    // Each side's row form from its own catalog (content-row.ts), read before the scan settings.
    const [key, [restoreForm]] = await inTextSettings(restore, (q) =>
      Promise.all([keyColumns(q, l), rowForms(q, [l])]),
    );
    if (!key.length) return { noPrimaryKey: true };
    if (!live) return { narrowing: 'not narrowed: no session on live' };
    const db = await live();
    return await db.transaction(
      async (lq) => {
        const [liveForm] = await rowForms(lq, [l]);
        await lq(setLocalSql(SCAN_SETTINGS));
        const [now] = await rangeDigests(lq, l, key, liveForm, [{}]);
        if (now.rows !== l.rows || now.sum !== l.sum)
          return { narrowing: 'not narrowed: live’s table has changed since its snapshot, so its ranges now differ' };
        const restored = sideOf(l, key, restoreForm, (f) => inTextSettings(restore, f, SCAN_SETTINGS));
        const b = await bisect(
          sideOf(l, key, liveForm, (f) => f(lq)),
          restored,
          { live: now, restored: r },
          o.limits ?? BISECT_LIMITS,
          undefined,
          o.signal,
        );
        return { ranges: report(b, key, o.hashKey), narrowing: narrowingText(b) };
      },
      'REPEATABLE READ',
      setLocalSql(TEXT_SETTINGS),
    );
  } catch (err) {
    return { narrowing: `not narrowed: ${describeError(err)}` };
  }
}
