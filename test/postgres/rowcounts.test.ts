// Row counts (exact / estimate / auto) and their comparison against a real PostgreSQL 15 server,
// through ReadOnlyDb: the session cannot write, a slow table times out alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCounts } from '../../actions/lib/postgres/compare-counts.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { countRows, type TableCount } from '../../actions/lib/postgres/rowcounts.js';
import { snapshotSchema, userTables, type TableRef } from '../../actions/lib/postgres/schema.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

// Rows inserted per table; the fixture is built from this table, the assertions read it back.
const ROWS: Record<string, number> = {
  'app.small': 10,
  'app.big': 20_000,
  'app.empty': 0,
  'app.events_2024': 120,
  'app.events_2025': 80,
  'app.events_default': 5,
  'My Schema.Odd"Name': 42,
  'app.never_analyzed': 50,
};

const FIXTURE = `
CREATE SCHEMA app;
CREATE TABLE app.small (id int PRIMARY KEY);
CREATE TABLE app.big (id int PRIMARY KEY, pad text);
CREATE TABLE app.empty (id int);
CREATE TABLE app.events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_default PARTITION OF app.events DEFAULT;
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."Odd""Name" (id int);
INSERT INTO app.small SELECT g FROM generate_series(1, ${ROWS['app.small']}) g;
INSERT INTO app.big SELECT g, repeat('x', 40) FROM generate_series(1, ${ROWS['app.big']}) g;
INSERT INTO app.events SELECT g, date '2024-01-01' FROM generate_series(1, ${ROWS['app.events_2024']}) g;
INSERT INTO app.events SELECT g, date '2025-06-01' FROM generate_series(1, ${ROWS['app.events_2025']}) g;
INSERT INTO app.events SELECT g, date '2030-01-01' FROM generate_series(1, ${ROWS['app.events_default']}) g;
INSERT INTO "My Schema"."Odd""Name" SELECT g FROM generate_series(1, ${ROWS['My Schema.Odd"Name']}) g;
ANALYZE;
-- Created after ANALYZE and without an index build: reltuples stays -1 (no estimate).
CREATE TABLE app.never_analyzed (id int);
INSERT INTO app.never_analyzed SELECT g FROM generate_series(1, ${ROWS['app.never_analyzed']}) g;
-- A table whose every row costs 50 ms for a non-superuser (row-level security), to force a statement timeout.
CREATE FUNCTION app.slow_check() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN true; END $$;
CREATE TABLE app.slow (id int);
INSERT INTO app.slow SELECT g FROM generate_series(1, 100) g;
ALTER TABLE app.slow ENABLE ROW LEVEL SECURITY;
CREATE POLICY slow_rows ON app.slow USING (app.slow_check());
CREATE ROLE reader LOGIN;
GRANT USAGE ON SCHEMA app, "My Schema" TO reader;
GRANT SELECT ON ALL TABLES IN SCHEMA app, "My Schema" TO reader;
`;

let server: PgServer;
const dbs: ReadOnlyDb[] = [];
const key = (c: { schema: string; table?: string; name?: string }) => `${c.schema}.${c.table ?? c.name}`;

function readOnly(database: string, opts: { user?: string; statementTimeoutMs?: number; poolSize?: number } = {}) {
  const db = new ReadOnlyDb(
    { host: server.host, port: server.port, user: opts.user ?? 'postgres', password: '', database },
    { statementTimeoutMs: opts.statementTimeoutMs ?? 10_000, poolSize: opts.poolSize ?? 4 },
  );
  dbs.push(db);
  return db;
}

let tables: TableRef[];

beforeAll(async () => {
  server = await startPgServer();
  await server.createDatabase('live');
  const admin = await server.admin('live');
  await admin.query(FIXTURE);
  // The fixture's inserts reach n_live_tup when the session flushes its statistics: now.
  await admin.query('SELECT pg_stat_force_next_flush()');
  tables = userTables(await snapshotSchema(readOnly('live'))).filter((t) => t.name !== 'slow');
});

afterAll(async () => expect(await stopAndCheck(server, dbs)).toBe(true));

function byName(counts: TableCount[]): Record<string, TableCount> {
  return Object.fromEntries(counts.map((c) => [key(c), c]));
}

describe('countRows', () => {
  it('exact: every leaf table, quoted names included, in input order', async () => {
    expect(tables.map(key).sort()).toEqual(Object.keys(ROWS).sort());
    const counts = await countRows(readOnly('live'), tables, { mode: 'exact', concurrency: 4 });
    expect(counts.map(key)).toEqual(tables.map(key));
    for (const c of counts) {
      expect(c).toMatchObject({ rows: ROWS[key(c)], method: 'exact' });
      expect(c.error).toBeUndefined();
      expect(c.ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('estimate: reltuples in one query; a never-analyzed table falls back to an exact count', async () => {
    const counts = byName(await countRows(readOnly('live'), tables, { mode: 'estimate', concurrency: 2 }));
    for (const [name, rows] of Object.entries(ROWS)) {
      // ANALYZE read every row of these small tables, so the estimates are exact.
      expect(counts[name].rows, name).toBe(rows);
      expect(counts[name].method, name).toBe(name === 'app.never_analyzed' ? 'exact' : 'estimate');
    }
  });

  it('estimate reads statistics: n_live_tup once VACUUM/ANALYZE gave it a base, else reltuples', async () => {
    await server.createDatabase('stale');
    const admin = await server.admin('stale');
    await admin.query(
      'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000); ANALYZE t; INSERT INTO t SELECT generate_series(1, 500)',
    );
    await admin.query('SELECT pg_stat_force_next_flush()');
    const db = readOnly('stale');
    const t = [{ schema: 'public', name: 't' }];
    const [tracked] = await countRows(db, t, { mode: 'estimate', concurrency: 1 });
    const [exact] = await countRows(db, t, { mode: 'exact', concurrency: 1 });
    // The insert after ANALYZE is in n_live_tup, not in reltuples.
    expect(tracked).toMatchObject({ rows: 1500, method: 'estimate', source: 'n_live_tup' });
    expect(exact).toMatchObject({ rows: 1500, method: 'exact', source: 'count' });
    // After a statistics reset n_live_tup counts from zero: not trusted, reltuples (stale) is used.
    await admin.query('SELECT pg_stat_reset()');
    await admin.query('INSERT INTO t SELECT generate_series(1, 10)');
    await admin.query('SELECT pg_stat_force_next_flush()');
    const [untracked] = await countRows(db, t, { mode: 'estimate', concurrency: 1 });
    expect(untracked).toMatchObject({ rows: 1000, method: 'estimate', source: 'reltuples' });
  });

  it('auto: exact below autoExactMaxBytes (pg_relation_size), estimate above', async () => {
    const counts = byName(
      await countRows(readOnly('live'), tables, { mode: 'auto', concurrency: 2, autoExactMaxBytes: 64 * 1024 }),
    );
    expect(counts['app.big'].method).toBe('estimate'); // ~1.2 MiB
    for (const name of Object.keys(ROWS).filter((n) => n !== 'app.big'))
      expect(counts[name].method, name).toBe('exact');
    for (const [name, rows] of Object.entries(ROWS)) expect(counts[name].rows, name).toBe(rows);
    // Default threshold 256 MiB: all exact here.
    const all = await countRows(readOnly('live'), tables, { mode: 'auto', concurrency: 2 });
    expect(all.every((c) => c.method === 'exact')).toBe(true);
  });

  it('a table hitting the statement timeout yields an error; the others are counted', async () => {
    const db = readOnly('live', { user: 'reader', statementTimeoutMs: 500, poolSize: 2 });
    const subset: TableRef[] = [
      { schema: 'app', name: 'small' },
      { schema: 'app', name: 'slow' },
      { schema: 'My Schema', name: 'Odd"Name' },
    ];
    const counts = await countRows(db, subset, { mode: 'exact', concurrency: 2 });
    expect(counts[1]).toMatchObject({ table: 'slow', method: 'exact' });
    expect(counts[1].error).toMatch(/canceling statement due to statement timeout/);
    expect(counts[1].rows).toBeNaN();
    expect(counts[0]).toMatchObject({ rows: ROWS['app.small'] });
    expect(counts[2]).toMatchObject({ rows: ROWS['My Schema.Odd"Name'] });
    expect(counts[0].error).toBeUndefined();
  });

  it('a table held ACCESS EXCLUSIVE by another session: estimates still work, its exact count names the lock', async () => {
    const locker = await server.admin('live');
    await locker.query('BEGIN; LOCK TABLE app.small IN ACCESS EXCLUSIVE MODE');
    const [{ pid }] = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    try {
      const db = readOnly('live', { statementTimeoutMs: 400, poolSize: 2 });
      const estimates = byName(await countRows(db, tables, { mode: 'estimate', concurrency: 2 }));
      expect(estimates['app.small']).toMatchObject({ rows: ROWS['app.small'], method: 'estimate' });
      expect(Object.values(estimates).filter((c) => c.error)).toEqual([]);
      const auto = byName(await countRows(db, tables, { mode: 'auto', concurrency: 2 }));
      expect(auto['app.small'].error).toBe(
        `canceling statement due to statement timeout (app.small is locked ACCESS EXCLUSIVE by backend pid ${pid})`,
      );
      expect(auto['app.big']).toMatchObject({ rows: ROWS['app.big'] });
    } finally {
      await locker.query('ROLLBACK');
    }
  });

  it('a table that does not exist yields an error in every mode', async () => {
    const ghost = [{ schema: 'app', name: 'ghost' }];
    const db = readOnly('live');
    const [exact] = await countRows(db, ghost, { mode: 'exact', concurrency: 1 });
    expect(exact.error).toMatch(/relation "app.ghost" does not exist/);
    const [estimate] = await countRows(db, ghost, { mode: 'estimate', concurrency: 1 });
    expect(estimate.error).toBe('table not found');
  });

  it('identifiers are quoted, never spliced: a hostile table name is just a missing table', async () => {
    const hostile = [{ schema: 'app', name: 'small"; DROP TABLE app.small; --' }];
    const [c] = await countRows(readOnly('live'), hostile, { mode: 'exact', concurrency: 1 });
    expect(c.error).toMatch(/does not exist/);
    const [small] = await countRows(readOnly('live'), [{ schema: 'app', name: 'small' }], {
      mode: 'exact',
      concurrency: 1,
    });
    expect(small.rows).toBe(ROWS['app.small']);
  });

  it('rejects bad options and honours an aborted signal', async () => {
    const db = readOnly('live');
    await expect(countRows(db, tables, { mode: 'fast' as never, concurrency: 1 })).rejects.toThrow(
      /unknown count mode 'fast'/,
    );
    await expect(countRows(db, tables, { mode: 'exact', concurrency: 0 })).rejects.toThrow(/concurrency/);
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(countRows(db, tables, { mode: 'exact', concurrency: 2, signal: controller.signal })).rejects.toThrow(
      /row counting aborted: cancelled/,
    );
  });
});

describe('the read-only session', () => {
  it('cannot write', async () => {
    const db = readOnly('live');
    await expect(db.query('INSERT INTO app.small VALUES (1000)')).rejects.toThrow(
      'cannot execute INSERT in a read-only transaction',
    );
    // Neither a second statement smuggled into one call nor flipping the transaction gets a write through.
    await expect(db.query('SELECT 1; SET TRANSACTION READ WRITE; INSERT INTO app.small VALUES (1001)')).rejects.toThrow(
      'cannot insert multiple commands into a prepared statement',
    );
    await expect(
      db.transaction(async (q) => {
        await q('SET TRANSACTION READ WRITE');
        await q('INSERT INTO app.small VALUES (1002)');
      }),
    ).rejects.toThrow('transaction read-write mode must be set before any query');
    const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM app.small');
    expect(Number(n)).toBe(ROWS['app.small']);
  });
});

describe('live vs restored counts', () => {
  it('flags the table that lost rows beyond tolerance, and only that one', async () => {
    await server.createDatabase('restored');
    // The restore: same tables, app.big lost 30 % of its rows, app.small lost 1 row (under the floor).
    await (
      await server.admin('restored')
    ).query(
      `${FIXTURE.replace(/CREATE ROLE reader LOGIN;/, '')}
       DELETE FROM app.big WHERE id % 10 < 3; DELETE FROM app.small WHERE id = 1;`,
    );
    const opts = { mode: 'exact' as const, concurrency: 4 };
    const [live, restored] = await Promise.all([
      countRows(readOnly('live'), tables, opts),
      countRows(readOnly('restored'), tables, opts),
    ]);
    const comparisons = compareCounts(live, restored, { tolerance: 0.1, floor: 10 });
    expect(comparisons).toHaveLength(tables.length);
    const outside = comparisons.filter((c) => !c.within);
    expect(outside).toEqual([
      {
        schema: 'app',
        table: 'big',
        live: 20_000,
        other: 14_000,
        allowed: 2000,
        liveSource: 'count',
        otherSource: 'count',
        within: false,
        note: 'differs by 6000 rows, more than the 2000 allowed',
      },
    ]);
    expect(comparisons.find((c) => c.table === 'small')).toMatchObject({
      live: 10,
      other: 9,
      allowed: 10,
      within: true,
    });
  });
});
