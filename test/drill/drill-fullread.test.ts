// The restore is read, not its catalog: base backups edited in the object store so that a table's
// data is lost or damaged while the restored catalog (pg_class.reltuples, the statistics) still
// says all is well, and an index is corrupted; each caught with the relation named. A healthy
// cluster under concurrent writes passes over repeated runs, and live-counts: replica counts on a
// replica, never the primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { breakTupleHeader, swapItems, zeroPages } from '../helpers/pages.js';
import { editNewestBackup } from './archive.js';
import { explain, leftovers, runDrill } from './support.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;
const LEDGER_ROWS = 30_000;
// ledger (~1.5 MiB) is above this, so live counts it from statistics; the sample tables are below.
const inputs = {
  cluster: 'books',
  namespace: 'default',
  'live-counts': 'auto',
  'live-exact-max-size': '512Ki',
  'record-history': false,
};

beforeAll(async () => {
  pgd = await startPlayground();
  live = await createLiveCluster(pgd, { name: 'books', rows: 1000, backup: false, spec: { instances: 2 } });
  await live.sql(`CREATE TABLE public.ledger (id int PRIMARY KEY, note text NOT NULL)`);
  await live.sql(`INSERT INTO public.ledger SELECT g, 'entry ' || g FROM generate_series(1, ${LEDGER_ROWS}) g`);
  // Frozen and analyzed: nothing touches ledger again, so no WAL replay rewrites its pages, and
  // n_live_tup has a base (the live side's estimate).
  await live.superSql('VACUUM (FREEZE, ANALYZE) public.ledger');
  await live.backup();
}, 240_000);
afterAll(async () => {
  await pgd?.stop();
});

describe('a healthy cluster under concurrent writes', () => {
  it('passes three drills in a row: every table read in full, every relation verified, per-table counting method reported', async () => {
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        await live.sql(`INSERT INTO public.orders (customer_id, amount) VALUES (1, 9.99)`);
        written++;
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    try {
      for (let run = 1; run <= 3; run++) {
        const r = await runDrill(pgd, inputs);
        expect(r.exitCode, explain(r)).toBe(0);
        expect(r.stdout).toMatch(/restore app: read 5\/5 tables, /);
        expect(r.stdout).toMatch(
          /▶ verify the restore\n[\s\S]*restore app: \d+ relations checked with amcheck 1\.\d+, data checksums off/,
        );
        expect(r.summary).toMatch(
          /\| public\.ledger \| 30000 \| estimate: pg_stat_user_tables\.n_live_tup \| 30000 \| 0 \| 3000 \|/,
        );
        expect(r.summary).toMatch(/\| public\.customers \| 200 \| count\(\*\) on the primary \| 200 \| 0 \| 20 \|/);
        expect(r.summary).toContain(
          'Live counted on the primary: 4 exact (count(*)), 1 estimated from pg_stat_user_tables.n_live_tup, 0 from pg_class.reltuples.',
        );
        expect(r.summary).toMatch(/### Verification of `app`: amcheck 1\.\d+, no problems/);
        expect(r.summary).toMatch(/5 tables checked with verify_heapam \(heap and TOAST\); \d+ B-tree indexes checked/);
        expect(r.summary).toContain('data checksums off');
        expect(r.summary).toMatch(
          /Recovery window \(from Cluster status\):[\s\S]*\| \*\*First recoverability point\*\* \| \d{4}-\d\d-\d\dT[\s\S]*\| \*\*Base backups a barman restore can start from\*\* \| 1: oldest books-/,
        );
        expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
        console.log(`healthy run ${run}: ${r.durationMs} ms, ${written} rows written so far`);
      }
      expect(written).toBeGreaterThan(10);
    } finally {
      stop = true;
      await writer;
    }
  });

  it('live-counts replica: exact counts on a replica instance, none on the primary', async () => {
    // The primary's own statistics: a count(*) there would add a sequential scan of customers.
    const seqScans = async () =>
      Number(
        (
          await live.superSql<{ n: string }>(
            `SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relid = 'public.customers'::regclass`,
          )
        )[0].n,
      );
    const before = await seqScans();
    const r = await runDrill(pgd, { ...inputs, 'live-counts': 'replica' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/counting live app on replica books-2/);
    expect(r.summary).toMatch(/\| public\.ledger \| 30000 \| count\(\*\) on the replica \| 30000 \| 0 \|/);
    expect(r.summary).toContain('Live counted on the replica: 5 exact (count(*))');
    expect(await seqScans()).toBe(before);
  });
});

describe('damage the restored catalog cannot show', () => {
  it('pages of a table zeroed in the stored base backup: the full read finds the loss, the table named', async () => {
    const id = await editNewestBackup(pgd, live, 'public.ledger', (data) => zeroPages(data, 10));
    const r = await runDrill(pgd, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /database app: 1 table\(s\) out of row-count tolerance: public\.ledger live 30000 \(estimate, n_live_tup\) vs restored \d{3,4} \(allowed ±3000\)/,
    );
    expect(r.outputs['backup-id']).toBe(id);
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  });

  it('a heap tuple header broken in the stored base backup: counts agree, amcheck names the table', async () => {
    await live.backup();
    await editNewestBackup(pgd, live, 'public.ledger', (data) => breakTupleHeader(data, 3, 5));
    const r = await runDrill(pgd, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    expect(r.errors.join('\n')).toMatch(
      /database app: amcheck found corruption in 1 relation\(s\): table public\.ledger \(verify_heapam: block 3, offset 5: tuple data should begin at byte \d+, but actually begins at byte \d+/,
    );
    expect(r.summary).toMatch(/\| table public\.ledger \| verify_heapam \| block 3, offset 5: /);
  });

  it('a B-tree index page corrupted in the stored base backup: amcheck names the index', async () => {
    await live.backup();
    await editNewestBackup(pgd, live, 'public.ledger_pkey', (data) => swapItems(data, 1, 2, 3));
    const r = await runDrill(pgd, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    expect(r.errors.join('\n')).toMatch(
      /database app: amcheck found corruption in 1 relation\(s\): index public\.ledger_pkey \(bt_index_parent_check: .*ledger_pkey/,
    );
  });
});
