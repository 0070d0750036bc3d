// Same moment on both sides, and restores across the recovery window, with the bundle on one
// playground: repeated default drills under a steady write load (tables of every size, some
// starting empty) judged exactly with no false alarm; after writes and a switch, the pin bounded
// by archive_timeout (an empty snapshot segment falls back at once, saying why); one row lost in a small table of the stored base backup
// caught with no slack; every recovery-target form in both backup modes (oldest after several
// backups, random landing between two); a target outside the window refused before anything is
// created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { BACKUPS, createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { editTarMember, PAGE } from '../helpers/pages.js';
import { seededFraction } from '../../actions/lib/drill/targets.js';
import { baseBackupTar } from './archive.js';
import { explain, leftovers, runDrill, writes } from './support.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';

let pgd: PlaygroundHandle;
const clusters: Record<
  'in-tree' | 'plugin',
  { live: LiveCluster; backups: { id: string; stoppedAt: string }[]; lsnAfterSecond: string; timeBetween: string }
> = {} as never;
// archive_timeout 5s: the segment holding live's counting snapshot reaches the archive within seconds.
const spec = { postgresql: { parameters: { archive_timeout: '5s' } } };

async function prepare(name: string, mode: 'in-tree' | 'plugin') {
  const live = await createLiveCluster(pgd, { name, mode, rows: 400, backup: false, spec });
  await live.sql(`CREATE TABLE public.inbox (id bigserial PRIMARY KEY, body text NOT NULL)`); // starts empty, then written
  await live.sql(`CREATE TABLE public.never_written (id int PRIMARY KEY)`); // stays empty
  await live.sql(`CREATE TABLE public.tiny (id int PRIMARY KEY, label text NOT NULL)`);
  await live.sql(`INSERT INTO public.tiny SELECT g, 'label ' || g FROM generate_series(1, 5) g`);
  await live.sql(`CREATE TABLE public.large (id int PRIMARY KEY, note text NOT NULL)`);
  await live.sql(`INSERT INTO public.large SELECT g, repeat('x', 100) FROM generate_series(1, 40000) g`);
  // tiny and large are never written again: no WAL replay rewrites their pages after a backup.
  await live.superSql('VACUUM (FREEZE, ANALYZE) public.tiny, public.large');
  const backups: { id: string; stoppedAt: string }[] = [];
  const take = async () => {
    const b = await live.backup();
    backups.push({ id: b.status.backupId, stoppedAt: b.status.stoppedAt });
  };
  await take();
  await live.writeRows(50);
  await new Promise((r) => setTimeout(r, 1500));
  await take();
  await live.writeRows(50);
  const [{ lsn }] = await live.superSql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  await new Promise((r) => setTimeout(r, 1500));
  const [{ t }] = await live.superSql<{ t: Date }>('SELECT now() AS t');
  await live.writeRows(50);
  await new Promise((r) => setTimeout(r, 1500));
  await take();
  await live.writeRows(20);
  await live.switchWalAndWait();
  clusters[mode] = { live, backups, lsnAfterSecond: lsn, timeBetween: t.toISOString() };
}

beforeAll(async () => {
  ensureDrillBundle();
  pgd = await startPlayground();
  await prepare('ledgers', 'in-tree');
  await prepare('ledgers-plug', 'plugin');
}, 600_000);
afterAll(async () => {
  await pgd?.stop();
});

const base = (mode: 'in-tree' | 'plugin') => ({
  cluster: clusters[mode].live.name,
  namespace: 'default',
  'record-history': false,
  verify: 'off',
  'same-moment-wait': '6m',
});

/** A steady OLTP-like load: inserts, updates and deletes on tables of several sizes, one starting empty. */
function steadyLoad(live: LiveCluster): { stop: () => Promise<number> } {
  let stop = false;
  let n = 0;
  const loop = (async () => {
    while (!stop) {
      await live.sql(`INSERT INTO public.orders (customer_id, amount) VALUES (1, 9.99)`);
      await live.sql(`INSERT INTO public.inbox (body) VALUES ('message ' || $1)`, [n]);
      await live.sql(`UPDATE public.customers SET name = name WHERE id = 1 + $1 % 10`, [n]);
      if (n % 3 === 0) await live.sql(`DELETE FROM public.events WHERE id = (SELECT min(id) FROM public.events)`);
      n++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await loop;
      return n;
    },
  };
}

describe('the same moment on both sides', () => {
  it('three default drills under a steady write load: live counted in one snapshot, the restore stopped there, counts judged exactly, no false alarm', async () => {
    const load = steadyLoad(clusters['in-tree'].live);
    try {
      for (let run = 1; run <= 3; run++) {
        const r = await runDrill(pgd, base('in-tree'));
        expect(r.exitCode, explain(r)).toBe(0);
        expect(r.stdout).toMatch(/live counted in one snapshot at WAL [0-9A-F]+\/[0-9A-F]+ /);
        expect(r.stdout).toMatch(
          /live's counting snapshot at [0-9A-F]+\/[0-9A-F]+ is archived \(segment [0-9A-F]{24}, waited \d+ s\)/,
        );
        expect(r.stdout).toMatch(/counts judged: exactly/);
        expect(r.stdout).toMatch(
          /recovery stop: replay ended at [0-9A-F]+\/[0-9A-F]+ \([^)]*\), (exactly at|\d+ bytes before)/,
        );
        expect(r.summary).toMatch(/How counts are judged: exactly/);
        expect(r.summary).toMatch(/\| public\.inbox \| \d+ \| count\(\*\) on the primary \| \d+ \| 0 \| 0 \|/);
        expect(r.summary).toMatch(/RPO, measured: measured from the archive/);
        expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
        console.log(`same-moment run ${run}: ${r.durationMs} ms, RPO ${r.outputs['rpo-seconds']} s`);
      }
    } finally {
      console.log(`steady load wrote ${await load.stop()} rounds`);
    }
  });

  it('after writes and a switch: the pin costs at most archive_timeout plus the copy, and says how counts are judged', async () => {
    // The segment holding the snapshot position is empty (nothing to archive: fall back at once, saying why)
    // unless autovacuum wrote into it after the load (then archive_timeout, 5 s here, switches it).
    await clusters['in-tree'].live.writeRows(5);
    await clusters['in-tree'].live.switchWalAndWait();
    const r = await runDrill(pgd, base('in-tree'));
    expect(r.exitCode, explain(r)).toBe(0);
    // Which step of the quiet proof fails depends on when the checkpointer ran relative to the writes:
    // after them (live wrote since) or during them (a transaction still running at the checkpoint).
    expect(r.stdout).toMatch(
      /same moment not proven from live's last checkpoint: (live wrote after live's last checkpoint|transaction \d+ was still running at live's last checkpoint)/,
    );
    expect(r.stdout).toMatch(
      /counts judged: (exactly \(no slack for tables counted with count\(\*\)\): live was counted in one snapshot|\|restored − live\| <= max\(0\.1 × live, 10\): segment [0-9A-F]{24} (was empty when live was counted|held \d+ bytes))/,
    );
    const pin = /\| pin the restore to live’s counting moment \| ([\d.]+) (ms|s) \|/.exec(r.summary);
    expect(pin && Number(pin[1]) * (pin[2] === 's' ? 1000 : 1)).toBeLessThanOrEqual(15_000);
  });

  it('one row lost from a small table in the stored base backup: caught with no slack (the row-count floor of 10 would hide it)', async () => {
    const { live } = clusters['in-tree'];
    const [{ path }] = await live.superSql<{ path: string }>(
      `SELECT pg_relation_filepath('public.tiny'::regclass) AS path`,
    );
    const newest = pgd.store
      .list(BACKUPS, 'default')
      .items.filter((b) => b.spec.cluster.name === live.name && b.status?.phase === 'completed')
      .sort((a, b) => String(a.status.stoppedAt).localeCompare(String(b.status.stoppedAt)))
      .at(-1)!;
    // Line pointer 3 of page 0 becomes LP_UNUSED: its row is gone, the page stays valid.
    editTarMember(baseBackupTar(pgd, live, newest.status.backupId), path, (data) =>
      data.writeUInt32LE(0, 0 * PAGE + 24 + 4 * 2),
    );
    // Live quiet since its last checkpoint, archived (what checkpoint_timeout + archive_timeout leave on an idle
    // server): the same moment is proven without waiting, so counts are judged exactly.
    await live.superSql('CHECKPOINT');
    await live.switchWalAndWait();
    const r = await runDrill(pgd, base('in-tree'));
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /database app: 1 table\(s\) out of row-count tolerance: public\.tiny live 5 vs restored 4 \(allowed ±0\)/,
    );
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    await live.backup(); // later drills restore from an intact backup
  });
});

describe.each(['in-tree', 'plugin'] as const)('recovery targets, %s', (mode) => {
  it('time=: restores from the backup before it, stops at or before it, counts reported not judged', async () => {
    const c = clusters[mode];
    const r = await runDrill(pgd, { ...base(mode), 'recovery-target': `time=${c.timeBetween}` });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs['backup-id']).toBe(c.backups[1].id);
    expect(r.stdout).toMatch(/recovery stop: last replayed commit at .*before/);
    expect(r.summary).toMatch(/row counts reported, not judged/);
    expect(r.summary).toMatch(/\| public\.orders \| \d+ \|/);
  });

  it('lsn=: restores from the backup whose end is below it, replay ends just after it', async () => {
    const c = clusters[mode];
    const r = await runDrill(pgd, { ...base(mode), 'recovery-target': `lsn=${c.lsnAfterSecond}` });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs['backup-id']).toBe(c.backups[1].id);
    expect(r.stdout).toMatch(/recovery stop: replay ended at [0-9A-F]+\/[0-9A-F]+ .*(exactly at|bytes after)/);
  });

  it('oldest: the first of several backups, to its consistency point', async () => {
    const c = clusters[mode];
    expect(c.backups.length).toBeGreaterThanOrEqual(3);
    const r = await runDrill(pgd, { ...base(mode), 'recovery-target': 'oldest' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs['backup-id']).toBe(c.backups[0].id);
    expect(r.stdout).toMatch(/recovery target: oldest: backup .* to its consistency point/);
  });

  it('random: a seed that lands between the first two backups restores from the first; the seed is printed for replay', async () => {
    const c = clusters[mode];
    const [{ last }] = await c.live.superSql<{ last: Date }>('SELECT last_archived_time AS last FROM pg_stat_archiver');
    const from = Date.parse(c.backups[0].stoppedAt);
    const [lo, hi] = [Date.parse(c.backups[0].stoppedAt), Date.parse(c.backups[1].stoppedAt)];
    const span = last.getTime() - from;
    let seed = 1;
    for (; seed < 100_000; seed++) {
      const t = from + seededFraction(seed) * span;
      if (t > lo + (hi - lo) * 0.3 && t < hi - (hi - lo) * 0.3) break;
    }
    const r = await runDrill(pgd, { ...base(mode), 'recovery-target': 'random', 'recovery-target-seed': String(seed) });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toContain(`seed ${seed}: replay with recovery-target-seed: ${seed}`);
    expect(r.outputs['backup-id']).toBe(c.backups[0].id);
  });

  it('restore-point: the switch is forced, and the restore still stops at live’s counting snapshot', async () => {
    const r = await runDrill(pgd, { ...base(mode), 'recovery-target': 'restore-point' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/restore point '.*' created at/);
    expect(r.stdout).toMatch(/counts judged: exactly/);
    expect(r.summary).toMatch(
      /stopped just before live's counting snapshot at [0-9A-F]+\/[0-9A-F]+ \(restore point '[^']+' at [0-9A-F]+\/[0-9A-F]+ forced the WAL switch\)/,
    );
  });
});

describe('a target outside the window', () => {
  it('is refused before anything is created', async () => {
    const since = Date.now();
    const r = await runDrill(pgd, { ...base('in-tree'), 'recovery-target': 'time=2020-01-01T00:00:00Z' });
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /Input 'recovery-target': time 2020-01-01T00:00:00.000Z is outside the recovery window \d{4}-.* \.\. \d{4}-/,
    );
    expect(writes(pgd, since).filter((w) => w.includes('/clusters'))).toEqual([]);
  });
});
