// compare: content end to end: the stored base backup edited so that one value inside a tuple's
// data changes (checksums off; header, catalog and amcheck clean: counts agree) -> the drill
// fails naming the table and the key range of that one row (bisected); one row of a 5-row table gone ->
// named; user checks in the report; and ten drills of a healthy cluster under a steady write load
// with zero false alarms. Every drill here pins the restore to live's counting snapshot
// (restore-point forces the WAL switch, so no wait for archive_timeout).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { PAGE } from '../helpers/pages.js';
import { editNewestBackup } from './archive.js';
import { explain, leftovers, runDrill } from './support.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;
const LEDGER_ROWS = 30_000;
const inputs = {
  cluster: 'ct',
  namespace: 'default',
  compare: 'content',
  'recovery-target': 'restore-point',
  'same-moment-wait': '2m',
  'record-history': false,
};

beforeAll(async () => {
  pgd = await startPlayground();
  live = await createLiveCluster(pgd, { name: 'ct', rows: 1000, backup: false });
  await live.sql(`CREATE TABLE public.ledger (id int PRIMARY KEY, note text NOT NULL)`);
  await live.sql(`INSERT INTO public.ledger SELECT g, 'entry ' || g FROM generate_series(1, ${LEDGER_ROWS}) g`);
  await live.sql(`CREATE TABLE public.five (id int PRIMARY KEY, v text)`);
  await live.sql(`INSERT INTO public.five SELECT g, 'value ' || g FROM generate_series(1, 5) g`);
  // Frozen and analyzed: no WAL replay rewrites these pages, and pg_stats has the key ranges.
  await live.superSql('VACUUM (FREEZE, ANALYZE) public.ledger, public.five');
  await live.backup();
}, 240_000);
afterAll(async () => {
  await pgd?.stop();
});

/** One value inside the tuple data changes, same length: `from` must occur exactly once. */
function replaceOnce(data: Buffer, from: string, to: string): void {
  const at = data.indexOf(from, 0, 'latin1');
  if (at < 0 || data.indexOf(from, at + 1, 'latin1') >= 0) throw new Error(`'${from}' not found exactly once`);
  data.write(to, at, 'latin1');
}

/** Line pointer `item` of page 0 becomes LP_UNUSED: the row is gone, the page stays valid (itemid.h). */
function dropItem(data: Buffer, item: number): void {
  data.writeUInt32LE(0, 24 + 4 * (item - 1));
  if (data.length < PAGE) throw new Error('not a heap page');
}

describe('damage only the content can show', () => {
  it('one value changed inside a tuple of the stored base backup: the table and a key range holding the row named', async () => {
    await editNewestBackup(pgd, live, 'public.ledger', (data) => replaceOnce(data, 'entry 15000', 'entrY 15000'));
    const r = await runDrill(pgd, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toMatch(/counts judged: exactly/);
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    expect(r.errors.join('\n')).not.toMatch(/amcheck|schema difference/);
    // Bisected to the changed row: one round of ~100 histogram ranges would leave ~300 of the 30,000 rows.
    const m =
      /database app: content of public\.ledger differs from live: 1 key range\(s\) differ: id in \[(\d+), (\d+)\) \(live (\d+) rows, restored (\d+)\) \(bisected in (\d+) round\(s\)\)/.exec(
        r.errors.join('\n'),
      );
    expect(m, explain(r)).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(15000);
    expect(Number(m![2])).toBeGreaterThan(15000);
    expect(Number(m![2]) - Number(m![1])).toBeLessThanOrEqual(5);
    expect([m![3], m![4]]).toEqual(['1', '1']);
    expect(r.summary).toMatch(/### Content of `app`: \d+ table\(s\) digested, \d+ same, 1 differ, 0 not compared/);
    expect(r.summary).not.toContain('entrY');
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    console.log(`changed value: ${m![0]}; drill ${r.durationMs} ms`);
  });

  it('one row of a 5-row table gone from the stored base backup: named', async () => {
    await live.backup();
    await editNewestBackup(pgd, live, 'public.five', (data) => dropItem(data, 3));
    const r = await runDrill(pgd, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /database app: content of public\.five differs from live: 1 key range\(s\) differ: id in \[3, 4\) \(live 1 rows, restored 0\) \(bisected in \d+ round\(s\)\)/,
    );
    await live.backup();
  });
});

describe('user checks', () => {
  it('expect, same-as-live, a write refused, a timeout: each in the report, values only when shown', async () => {
    const checks = `
- {name: ledger-total, database: app, query: 'SELECT sum(id) FROM public.ledger', expect: ${(LEDGER_ROWS * (LEDGER_ROWS + 1)) / 2}}
- {name: newest-order, database: app, query: 'SELECT max(placed_at)::text FROM public.orders', same-as-live: true}
- {name: customers, database: app, query: 'SELECT count(*) FROM public.customers', same-as-live: true, show: true}
- {name: sneaky, database: app, query: 'DELETE FROM public.five', expect: 0}
- {name: slow, database: app, query: 'SELECT pg_sleep(30)', expect: ''}
`;
    const r = await runDrill(pgd, { ...inputs, compare: 'counts', checks, 'statement-timeout': '3s' });
    // Two checks could not be evaluated: the drill could not judge what it was asked to (error, not passed).
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.outputs.result).toBe('error');
    expect(r.errors.join('\n')).toMatch(/2 user check\(s\) could not be evaluated: 'sneaky' .*'slow'/);
    expect(r.summary).toContain(
      '| ledger-total | app | expect | passed | the restore gives the expected value | (hidden) |',
    );
    expect(r.summary).toContain(
      '| newest-order | app | same-as-live | passed | same on live and the restore | (hidden) |',
    );
    expect(r.summary).toContain(
      '| customers | app | same-as-live | passed | same on live and the restore | live: 200; restored: 200 |',
    );
    expect(r.summary).toMatch(
      /\| sneaky \| app \| expect \| error \| on the restore: cannot execute DELETE in a read-only transaction/,
    );
    expect(r.summary).toMatch(
      /\| slow \| app \| expect \| error \| on the restore: canceling statement due to statement timeout/,
    );
    expect((await live.sql<{ n: string }>('SELECT count(*) AS n FROM public.five'))[0].n).toBe('5');
  });
});

/** A steady OLTP-like load: inserts, updates of values, deletes. */
function steadyLoad(): { stop: () => Promise<number> } {
  let stop = false;
  let n = 0;
  const loop = (async () => {
    while (!stop) {
      await live.sql(`INSERT INTO public.orders (customer_id, amount) VALUES (1 + $1 % 50, 9.99)`, [n]);
      await live.sql(`UPDATE public.customers SET name = 'renamed ' || $1 WHERE id = 1 + $1 % 100`, [n]);
      if (n % 3 === 0) await live.sql(`DELETE FROM public.events WHERE id = (SELECT min(id) FROM public.events)`);
      n++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { stop: async () => ((stop = true), await loop, n) };
}

describe('a healthy cluster under a steady write load', () => {
  it('ten drills with compare: content: zero false alarms', async () => {
    const load = steadyLoad();
    const t0 = Date.now();
    try {
      for (let run = 1; run <= 10; run++) {
        const r = await runDrill(pgd, inputs);
        expect(r.exitCode, explain(r)).toBe(0);
        expect(r.stdout).toMatch(/counts judged: exactly/);
        expect(r.summary).toMatch(/### Content of `app`: 6 table\(s\) digested, 6 same, 0 differ, 0 not compared\n/);
        console.log(`healthy content run ${run}: ${r.durationMs} ms`);
      }
    } finally {
      console.log(`ten drills: ${Date.now() - t0} ms, ${await load.stop()} write rounds`);
    }
  }, 1_800_000);
});
