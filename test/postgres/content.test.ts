// compare: content against a real PostgreSQL server: two databases holding the same rows in a
// different physical order and with different session defaults give the same digests (the text
// settings are pinned per transaction); one changed value, one dropped row and a table without a
// primary key are told apart and narrowed to key ranges; the digest plan reads every heap page;
// a table the role may not read is "not compared"; sequences, large objects and user checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDigest, readsEveryPage, tryDigest } from '../../actions/lib/postgres/content-digest.js';
import { judgeSequence } from '../../actions/lib/postgres/content-extras.js';
import { parseChecks, runCheck } from '../../actions/lib/postgres/content-checks.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { snapshotSchema } from '../../actions/lib/postgres/schema.js';
import { takeLiveContent, type ContentSettings } from '../../actions/lib/drill/content-live.js';
import { compareContent } from '../../actions/lib/drill/content-compare.js';
import { contentSection, judgeCheck } from '../../actions/lib/drill/content-report.js';
import { parseQualifiedName } from '../../actions/lib/postgres/ident.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

// Every type whose text form a session setting changes, plus a text key sorted differently by collations.
const SCHEMA = `
CREATE TABLE public.typed (id int PRIMARY KEY, ts timestamp, tz timestamptz, d date, iv interval, f float8,
  r real, b bytea, m money, reg regclass, j jsonb, pt point, arr float8[]);
CREATE TABLE public.named (code text PRIMARY KEY, note text);
CREATE TABLE public.nokey (v int);
CREATE TABLE public.five (id int PRIMARY KEY, v text);
CREATE TABLE public.stamped (at timestamp PRIMARY KEY, v int);
CREATE TABLE public.pair (region text, n int, v text, PRIMARY KEY (region, n));
CREATE SEQUENCE public.s;
`;
const ROWS = (order: 'ASC' | 'DESC') => `
INSERT INTO public.typed SELECT g, timestamp '2024-02-29 13:14:15.123456' + g * interval '1 day',
  timestamptz '2024-02-29 13:14:15.5+02' + g * interval '1 hour', date '2024-01-01' + g, g * interval '1 day 2 hours 3.5 seconds',
  g / 3.0, g / 7.0, decode(lpad(to_hex(g), 8, '0'), 'hex'), g * 1.25, 'pg_class'::regclass, jsonb_build_object('g', g),
  point(g / 3.0, 1), ARRAY[g / 3.0] FROM generate_series(1, 3000) g ORDER BY g ${order};
INSERT INTO public.named SELECT k, 'n' || k FROM (SELECT unnest(ARRAY['a', 'B', 'c', 'D', 'é', 'Z', '_x', '1']) || g AS k
  FROM generate_series(1, 400) g) x ORDER BY k ${order};
INSERT INTO public.nokey SELECT g FROM generate_series(1, 100) g ORDER BY g ${order};
INSERT INTO public.five SELECT g, 'v' || g FROM generate_series(1, 5) g ORDER BY g ${order};
INSERT INTO public.stamped SELECT timestamp '2024-02-29' + g * interval '1 hour', g FROM generate_series(1, 2000) g;
INSERT INTO public.pair SELECT r, g, 'v' || g FROM unnest(ARRAY['north', 'South', 'é']) r, generate_series(1, 700) g
  ORDER BY g ${order};
SELECT setval('public.s', 42);
SELECT lo_from_bytea(424242, 'large object bytes'); -- a physical restore keeps the OID
`;

let server: PgServer;
const dbs: ReadOnlyDb[] = [];
function readOnly(database: string, user = 'postgres', statementTimeoutMs = 10_000) {
  const db = new ReadOnlyDb(
    { host: server.host, port: server.port, user, password: '', database },
    { statementTimeoutMs, poolSize: 3 },
  );
  dbs.push(db);
  return db;
}

/** A live session whose `nth` split-key read (content-ranges.ts nthKey) sleeps past its statement timeout. */
class SlowSplit extends ReadOnlyDb {
  private splits = 0;
  constructor(
    conn: ConstructorParameters<typeof ReadOnlyDb>[0],
    private readonly nth: number,
  ) {
    // The timeout holds every statement of live's bisection, so it must clear a normal one on a loaded
    // machine (run L, load 9: one ran past 300 ms, in round 0); the injected one sleeps well past it.
    super(conn, { statementTimeoutMs: 3_000, poolSize: 1 });
  }
  override transaction<R>(...[fn, ...rest]: Parameters<ReadOnlyDb['transaction']>): Promise<R> {
    return super.transaction(
      (q, opened) =>
        fn(
          ((sql: string, params?: unknown[]) =>
            sql.includes(' OFFSET ') && ++this.splits === this.nth
              ? q('SELECT pg_sleep(20)')
              : q(sql, params)) as typeof q,
          opened,
        ),
      ...rest,
    ) as Promise<R>;
  }
}

const settings: ContentSettings = {
  content: true,
  maxBytes: 1 << 30,
  concurrency: 3,
  statementTimeoutMs: 10_000,
  checks: [],
};

async function contentOf(live: string, restored: string, s: Partial<ContentSettings> = {}) {
  const l = readOnly(live);
  const lc = await takeLiveContent(l, live, await snapshotSchema(l), { ...settings, ...s });
  return compareContent(readOnly(restored), restored, lc, {
    concurrency: 3,
    judged: true,
    sensitive: [],
    openLive: async () => readOnly(live),
  });
}

beforeAll(async () => {
  server = await startPgServer();
  for (const [name, order] of [
    ['live', 'ASC'],
    ['copy', 'DESC'],
    ['changed', 'DESC'],
    ['dmy', 'ASC'],
    ['changed_nokey', 'DESC'],
  ] as const) {
    await server.createDatabase(name);
    const admin = await server.admin(name);
    await admin.query(SCHEMA + ROWS(order));
    await admin.query('VACUUM ANALYZE');
    // A live database whose sessions write dates day first: its key bounds must still parse on the restore.
    if (name === 'dmy') await admin.query(`ALTER DATABASE dmy SET DateStyle = 'SQL, DMY'`);
    else if (name !== 'live')
      // Session defaults that change every pinned type's text form: the digests must not see them.
      for (const set of [
        `DateStyle = 'German, DMY'`,
        `TimeZone = 'Asia/Kathmandu'`,
        `IntervalStyle = 'iso_8601'`,
        `extra_float_digits = -3`,
        `bytea_output = 'escape'`,
        `search_path = public`,
      ])
        await admin.query(`ALTER DATABASE ${name} SET ${set}`);
  }
}, 120_000);

afterAll(async () => expect(await stopAndCheck(server, dbs)).toBe(true));

describe('row digests', () => {
  it('the same rows in another order under other session defaults: every table the same', async () => {
    const naive = async (db: string) =>
      (
        await readOnly(db).query<{ h: string }>(
          `SELECT md5(string_agg(t::text, '' ORDER BY id)) AS h FROM public.typed t`,
        )
      )[0].h;
    // Without the pinned settings the text forms differ (the settings matter)...
    expect(await naive('live')).not.toBe(await naive('copy'));
    // ...with them, the digests agree.
    const { comparison, counts } = await contentOf('live', 'copy');
    expect(comparison.differing).toEqual([]);
    expect(comparison.same).toBe(6);
    expect(comparison.notCompared).toEqual([]);
    expect(counts.find((c) => c.table === 'typed')?.rows).toBe(3000);
    expect(comparison.sequences).toEqual({ compared: 1, differing: [] });
    expect(comparison.largeObjects).toEqual({ live: 1, restored: 1, digest: 'same' });
  });

  it('one changed value, one dropped row, a table without a key: named with the key ranges that hold them', async () => {
    const admin = await server.admin('changed');
    await admin.query(`UPDATE public.typed SET f = f + 1e-9 WHERE id = 1777`);
    await admin.query(`DELETE FROM public.five WHERE id = 3`);
    await admin.query(`UPDATE public.nokey SET v = -v WHERE v = 50`);
    await admin.query(`UPDATE public.named SET note = 'changed' WHERE code = 'é123'`);
    await admin.query(`UPDATE public.pair SET v = 'changed' WHERE region = 'South' AND n = 345`);
    const { comparison } = await contentOf('live', 'changed');
    const byTable = Object.fromEntries(comparison.differing.map((t) => [t.table, t]));
    expect(Object.keys(byTable).sort()).toEqual([
      'public.five',
      'public.named',
      'public.nokey',
      'public.pair',
      'public.typed',
    ]);
    expect(byTable['public.stamped']).toBeUndefined();
    // Bisected down to the one row on each side (3,000 rows: more than one round of ~100 ranges narrows).
    const [typed] = byTable['public.typed'].ranges!;
    const m = /^id in \[(\d+), (\d+)\)$/.exec(typed.range)!;
    expect(Number(m[1])).toBeLessThanOrEqual(1777);
    expect(Number(m[2])).toBeGreaterThan(1777);
    expect(byTable['public.typed'].ranges).toHaveLength(1);
    expect(typed).toMatchObject({ liveRows: 1, restoredRows: 1 });
    expect(byTable['public.typed'].narrowing).toMatch(/^bisected in \d+ round\(s\)$/);
    expect(byTable['public.five']).toMatchObject({ liveRows: 5, restoredRows: 4 });
    expect(byTable['public.five'].ranges).toEqual([{ range: 'id in [3, 4)', liveRows: 1, restoredRows: 0 }]);
    expect(byTable['public.nokey']).toMatchObject({ noPrimaryKey: true });
    // Text keys: bounds in "C" order, so the range holding 'é123' is the same on both sides.
    const named = byTable['public.named'].ranges!;
    expect(named).toEqual([{ range: expect.stringMatching(/^code in \[é123, /), liveRows: 1, restoredRows: 1 }]);
    // A composite key: bisected by row comparison on (region, n).
    expect(byTable['public.pair'].ranges).toEqual([
      {
        range: expect.stringMatching(/^\(region, n\) in \[\(South, 345\), \(South, 346\)\)$/),
        liveRows: 1,
        restoredRows: 1,
      },
    ]);
    console.log(`differing ranges: ${typed.range} (${typed.liveRows} rows), ${named[0].range}`);
  });

  it('key values read under a day-first DateStyle on live still bound the same ranges on the restore', async () => {
    await (await server.admin('changed')).query(`UPDATE public.stamped SET v = -v WHERE v = 1000`);
    const { comparison } = await contentOf('dmy', 'changed');
    const stamped = comparison.differing.find((t) => t.table === 'public.stamped');
    expect(comparison.notCompared).toEqual([]);
    expect(stamped?.ranges).toEqual([
      { range: 'at in [2024-04-10 16:00:00, 2024-04-10 17:00:00)', liveRows: 1, restoredRows: 1 },
    ]);
  });

  it('sensitive keys are shown hashed, the table named as written unquoted (public.FIVE is public.five)', async () => {
    const l = readOnly('live');
    const lc = await takeLiveContent(l, 'live', await snapshotSchema(l), settings);
    const { comparison } = await compareContent(readOnly('changed'), 'changed', lc, {
      concurrency: 2,
      judged: true,
      sensitive: [parseQualifiedName('public.FIVE')!],
      openLive: async () => l,
    });
    const five = comparison.differing.find((t) => t.table === 'public.five')!;
    expect(five.ranges![0].range).toMatch(/^id in \[#[0-9a-f]{12}, #[0-9a-f]{12}\)$/);
    // The report says what the hashes are good for: telling ranges apart in this report only.
    expect(contentSection(comparison)).toContain(
      '- `#` values: keys of content-sensitive-keys tables, as HMAC-SHA-256 with a key drawn for this run: ' +
        'they tell ranges apart within this report only, not across runs.',
    );
    // Six tables differ here: the sixth (in schema order) is named, not bisected.
    expect(comparison.differing.find((t) => t.table === 'public.typed')).toMatchObject({
      narrowing: 'not narrowed: only the first 5 differing tables are',
    });
  });

  it('cancelled while narrowing: bisection stops before its next read, the rest are said cancelled', async () => {
    const l = readOnly('live');
    const lc = await takeLiveContent(l, 'live', await snapshotSchema(l), settings);
    const cancel = new AbortController();
    const { comparison } = await compareContent(readOnly('changed'), 'changed', lc, {
      concurrency: 2,
      judged: true,
      sensitive: [],
      // The drill is cancelled as the first table's bisection opens its session on live.
      openLive: async () => (cancel.abort(), l),
      signal: cancel.signal,
    });
    const [first, ...rest] = comparison.differing;
    expect(first).toMatchObject({
      table: 'public.five',
      narrowing: 'bisected in 0 round(s), stopped by the drill being cancelled',
    });
    expect(first.ranges).toEqual([{ range: 'id: the whole table', liveRows: 5, restoredRows: 4 }]);
    expect(rest.map((t) => t.narrowing)).toEqual(rest.map(() => 'not narrowed: the drill was cancelled'));
  });

  it('a differing table without a primary key opens no session on live', async () => {
    const admin = await server.admin('changed_nokey');
    await admin.query(`UPDATE public.nokey SET v = -v WHERE v = 7`);
    const l = readOnly('live');
    const lc = await takeLiveContent(l, 'live', await snapshotSchema(l), settings);
    let opened = 0;
    const { comparison } = await compareContent(readOnly('changed_nokey'), 'changed_nokey', lc, {
      concurrency: 2,
      judged: true,
      sensitive: [],
      openLive: async () => (opened++, l),
    });
    expect(comparison.differing.map((t) => [t.table, t.noPrimaryKey])).toEqual([['public.nokey', true]]);
    expect(opened).toBe(0);
  });

  it('a statement timeout part-way through bisection: the ranges found so far are reported, saying why it stopped', async () => {
    await (await server.admin('changed_nokey')).query(`UPDATE public.typed SET f = f + 1e-9 WHERE id = 1777`);
    const l = readOnly('live');
    const lc = await takeLiveContent(l, 'live', await snapshotSchema(l), settings);
    // Live's fourth split-key read runs past a real statement timeout, inside its bisection transaction.
    const live = new SlowSplit(
      { host: server.host, port: server.port, user: 'postgres', password: '', database: 'live' },
      4,
    );
    dbs.push(live);
    const { comparison } = await compareContent(readOnly('changed_nokey'), 'changed_nokey', lc, {
      concurrency: 2,
      judged: true,
      sensitive: [],
      openLive: async () => live,
    });
    const typed = comparison.differing.find((t) => t.table === 'public.typed')!;
    expect(typed.narrowing).toBe(
      'bisected in 3 round(s), narrowing stopped: canceling statement due to statement timeout',
    );
    const [range] = typed.ranges!;
    const m = /^id in \[(\d+), (\d+)\)$/.exec(range.range)!;
    expect(Number(m[1]) <= 1777 && Number(m[2]) > 1777).toBe(true);
    expect(range.liveRows).toBeLessThan(3000 / 4);
  });

  it('the newest 1,000 of 100,000 rows lost: one range from the first lost key, live 1000, restored 0', async () => {
    for (const [name, rows] of [
      ['lost_live', 100_000],
      ['lost_restore', 99_000],
    ] as const) {
      await server.createDatabase(name);
      const admin = await server.admin(name);
      await admin.query(`CREATE TABLE public.events (id bigint PRIMARY KEY, v text);
        INSERT INTO public.events SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g`);
      await admin.query('VACUUM ANALYZE');
    }
    const started = performance.now();
    const { comparison } = await contentOf('lost_live', 'lost_restore');
    const [events] = comparison.differing;
    expect(events.ranges).toEqual([{ range: 'id >= 99001', liveRows: 1000, restoredRows: 0 }]);
    expect(events.narrowing).toMatch(/^bisected in \d+ round\(s\)$/);
    console.log(`100,000 rows, newest 1,000 lost: ${events.narrowing}, ${Math.round(performance.now() - started)} ms`);
  });

  it('the digest plan reads every heap page: sequential scans only, even where an index-only scan would do', async () => {
    const db = readOnly('live');
    const plan = await planDigest(db, { schema: 'public', name: 'five' });
    console.log(plan.join('\n'));
    expect(readsEveryPage(plan)).toBe(true);
  });

  it('a table the role may not read is not compared, and says why', async () => {
    const admin = await server.admin('live');
    await admin.query(`DO $$ BEGIN CREATE ROLE limited LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await admin.query(`GRANT SELECT ON public.five TO limited`);
    const d = await tryDigest(readOnly('live', 'limited'), { schema: 'public', name: 'typed' });
    expect(d).toMatchObject({ error: expect.stringMatching(/permission denied/) });
  });

  it('content-max-size: larger tables are compared by counts only, stated', async () => {
    const { comparison } = await contentOf('live', 'copy', { maxBytes: 64 * 1024 });
    expect(comparison.notCompared.map((t) => t.table)).toContain('public.typed');
    expect(comparison.notCompared.find((t) => t.table === 'public.typed')?.why).toMatch(/above content-max-size/);
  });
});

describe('sequences', () => {
  const seq = (lastValue: string | null) => ({ schema: 'public', name: 's', lastValue, increment: '1', cache: '1' });
  it('the restore may be ahead by what nextval pre-logs, never further', () => {
    expect(judgeSequence(seq('42'), seq('42'))).toBe('same');
    expect(judgeSequence(seq('42'), seq('74'))).toBe('ahead-within-prelog');
    expect(judgeSequence(seq('42'), seq('76'))).toBe('too-far-ahead');
    expect(judgeSequence(seq('42'), seq('40'))).toBe('behind');
    expect(judgeSequence(seq('42'), undefined)).toBe('missing');
  });
});

describe('user checks', () => {
  const [sum, same, write, slow] = parseChecks(
    `
- {name: ledger, database: live, query: 'SELECT sum(id) FROM public.typed', expect: 4501500}
- {name: plans, database: live, query: 'SELECT count(*) FROM public.five', same-as-live: true, show: true}
- {name: sneaky, database: live, query: 'DELETE FROM public.five', expect: 0}
- {name: slow, database: live, query: 'SELECT pg_sleep(5)', expect: ''}
`,
    ['live'],
  );

  it('expect and same-as-live: judged, values only when shown', async () => {
    const db = readOnly('live');
    const r1 = judgeCheck(sum, await runCheck(db, sum, 5_000), undefined, true);
    expect(r1).toMatchObject({ status: 'passed', kind: 'expect' });
    expect(r1.values).toBeUndefined();
    const live = await runCheck(db, same, 5_000);
    const r2 = judgeCheck(same, await runCheck(readOnly('changed'), same, 5_000), live, true);
    expect(r2).toMatchObject({ status: 'failed', values: { live: '5', restored: '4' } });
    expect(judgeCheck(same, await runCheck(readOnly('copy'), same, 5_000), live, true).status).toBe('passed');
  });

  it('a write statement is refused and a slow one stopped by the statement timeout', async () => {
    const db = readOnly('live');
    const w = judgeCheck(write, await runCheck(db, write, 5_000), undefined, true);
    expect(w).toMatchObject({ status: 'error', detail: expect.stringMatching(/read-only transaction/) });
    expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM public.five'))[0].n).toBe('5');
    const t0 = Date.now();
    const s = judgeCheck(slow, await runCheck(db, slow, 500), undefined, true);
    expect(s).toMatchObject({ status: 'error', detail: expect.stringMatching(/statement timeout/) });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('bad checks input: one error naming the input', () => {
    expect(() => parseChecks('- {name: x, query: SELECT 1}', ['app'])).toThrow(
      /checks.*exactly one of expect or same-as-live/,
    );
    expect(() => parseChecks('- {name: x, database: other, query: SELECT 1, expect: 1}', ['app'])).toThrow(
      /does not compare/,
    );
    expect(() => parseChecks('name: x', ['app'])).toThrow(/is not a list/);
  });
});
