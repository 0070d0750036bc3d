// The restore is read, not its catalog: base backups edited in the object store so that a table's
// data is lost or damaged while the restored catalog (pg_class.reltuples, the statistics) still
// says all is well, and an index is corrupted; each caught with the relation named. The heap is
// read even where an intact index and an all-visible visibility map could answer count(*) (a
// zeroed heap, a zeroed segment past 1 GiB) and where count(*) never looks (a TOAST table gone).
// A healthy cluster under concurrent writes passes over repeated runs, and live-counts: replica
// counts on a replica, never the primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { breakTupleHeader, editTarMember, renameTarMember, swapItems, zeroPages } from '../helpers/pages.js';
import { editNewestBackup, newestBackup } from './archive.js';
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

/** The data directory path of a relation's main fork (`SELECT ... AS path` on live). */
async function relationPath(cluster: LiveCluster, sql: string): Promise<string> {
  const [{ path }] = await cluster.superSql<{ path: string }>(sql);
  return path;
}

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

describe('a heap lost where count(*) need not look', () => {
  beforeAll(async () => {
    // journal: ~240-byte rows, its heap ~10x its primary key; docs: values stored out of line (TOAST).
    await live.sql(`CREATE TABLE public.journal (id int PRIMARY KEY, note text NOT NULL);
      INSERT INTO public.journal SELECT g, repeat('j', 200) || g FROM generate_series(1, 40000) g;
      CREATE TABLE public.docs (id int PRIMARY KEY, body text NOT NULL);
      ALTER TABLE public.docs ALTER body SET STORAGE EXTERNAL;
      INSERT INTO public.docs SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 300) g`);
    // The user's normal case: VACUUM sets the visibility map, so a count(*) may answer from the index.
    await live.superSql('VACUUM (FREEZE, ANALYZE) public.journal, public.docs');
    const plan = await live.superSql('EXPLAIN SELECT count(*) FROM public.journal');
    expect(JSON.stringify(plan)).toMatch(/Index Only Scan using journal_pkey/);
  }, 240_000);

  it('a heap zeroed under an intact primary key and an all-visible visibility map: failed, the table named', async () => {
    await live.backup();
    const path = await relationPath(live, `SELECT pg_relation_filepath('public.journal'::regclass) AS path`);
    const { id, tar } = newestBackup(pgd, live);
    editTarMember(tar, path, (data) => zeroPages(data, 0));
    const r = await runDrill(pgd, inputs);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.outputs['backup-id']).toBe(id);
    expect(r.errors.join('\n')).toMatch(
      /database app: 1 table\(s\) out of row-count tolerance: public\.journal live 40000 \(estimate, n_live_tup\) vs restored 0 \(allowed ±4000\)/,
    );
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  });

  it('a TOAST table gone from the base backup (verify off): failed, the table and its TOAST table named', async () => {
    await live.backup();
    const path = await relationPath(
      live,
      `SELECT pg_relation_filepath(reltoastrelid) AS path FROM pg_class WHERE oid = 'public.docs'::regclass`,
    );
    const { tar } = newestBackup(pgd, live);
    renameTarMember(tar, path, `${path.split('/').at(-1)}.gone`);
    const r = await runDrill(pgd, { ...inputs, verify: 'off' });
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /public\.docs live 300 vs restored n\/a \(allowed ±\d+; not counted on the other side: TOAST table pg_toast\.pg_toast_\d+ unreadable: could not open file "[^"]+": No such file or directory\)/,
    );
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  });
});

describe('a heap segment past 1 GiB', () => {
  // The cheapest honest table over 1 GiB: fillfactor 10 and 532-byte tuples leave one row per 8 KiB
  // page, so 150,000 rows make ~1.15 GiB of heap (segment 1 holds rows 131,073 on) while writing
  // only ~100 MiB of WAL; its pages are mostly empty, so their images in WAL are small too.
  const ROWS = 150_000;
  let vault: LiveCluster;
  beforeAll(async () => {
    const started = Date.now();
    vault = await createLiveCluster(pgd, { name: 'vault', rows: 100, backup: false });
    await vault.sql(`CREATE TABLE public.archive (id int PRIMARY KEY, pad text NOT NULL) WITH (fillfactor = 10);
      ALTER TABLE public.archive ALTER pad SET STORAGE PLAIN;
      INSERT INTO public.archive SELECT g, repeat('a', 500) FROM generate_series(1, ${ROWS}) g`);
    await vault.superSql('VACUUM (FREEZE, ANALYZE) public.archive');
    const [{ bytes }] = await vault.superSql<{ bytes: string }>(`SELECT pg_relation_size('public.archive') AS bytes`);
    expect(Number(bytes)).toBeGreaterThan(1024 ** 3);
    expect(JSON.stringify(await vault.superSql('EXPLAIN SELECT count(*) FROM public.archive'))).toMatch(
      /Index Only Scan using archive_pkey/,
    );
    await vault.backup(undefined, 600_000);
    console.log(`a ${ROWS}-row table over 1 GiB, vacuumed and backed up: ${Date.now() - started} ms`);
  }, 900_000);
  afterAll(async () => {
    await vault?.destroy();
  });

  it('segment 1 zeroed in the base backup: failed, the table named', { timeout: 900_000 }, async () => {
    const path = await relationPath(vault, `SELECT pg_relation_filepath('public.archive'::regclass) AS path`);
    const { tar } = newestBackup(pgd, vault);
    editTarMember(tar, `${path}.1`, (data) => zeroPages(data, 0));
    const started = Date.now();
    const r = await runDrill(pgd, { ...inputs, cluster: 'vault' }, { timeoutMs: 900_000 });
    console.log(`drill of a ${ROWS}-row, 1.15 GiB table: ${Date.now() - started} ms`);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /database app: 1 table\(s\) out of row-count tolerance: public\.archive live 150000 \(estimate, n_live_tup\) vs restored 131072 /,
    );
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  });
});
