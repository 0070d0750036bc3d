// Live tables whose rows a restore can never be judged on, against a real PostgreSQL server: the
// "restore" is a copy of live (CREATE DATABASE ... TEMPLATE) that then goes through crash recovery,
// which resets every unlogged relation to its empty init fork, as the end of a restore's recovery
// does; live's unlogged tables are filled again. A row-level security policy applies to the drill's
// live role (pg_read_all_data does not bypass it); the restore is read as the superuser. Neither may
// fail the comparison; both are named as not compared, and the restore's unlogged relations verify.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareWithRestore,
  notComparedNote,
  takeBaseline,
  type CountSettings,
} from '../../actions/lib/drill/compare.js';
import { takeLiveContent } from '../../actions/lib/drill/content-live.js';
import { compareContent } from '../../actions/lib/drill/content-compare.js';
import { readSequences } from '../../actions/lib/postgres/content-extras.js';
import { RESTORE_READ_SETTINGS } from '../../actions/lib/postgres/full-read.js';
import { ReadOnlyDb, UNFILTERED_READ_SETTINGS } from '../../actions/lib/postgres/readonly.js';
import { installAmcheck, verificationReasons, verifyRestore } from '../../actions/lib/postgres/verify.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

const FIXTURE = `
CREATE SCHEMA app;
CREATE TABLE app.orders (id int PRIMARY KEY);
CREATE UNLOGGED TABLE app.cache (k int PRIMARY KEY, v text);
CREATE TABLE app.events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE UNLOGGED TABLE app.events_scratch PARTITION OF app.events FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
CREATE SEQUENCE app.order_ids;
CREATE UNLOGGED SEQUENCE app.tickets;
CREATE TABLE app.tenant_rows (id int PRIMARY KEY, tenant text NOT NULL);
ALTER TABLE app.tenant_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON app.tenant_rows USING (tenant = current_user);
INSERT INTO app.orders SELECT g FROM generate_series(1, 300) g;
INSERT INTO app.events SELECT g, date '2024-03-01' FROM generate_series(1, 40) g;
INSERT INTO app.tenant_rows SELECT g, 'tenant' || (g % 3) FROM generate_series(1, 90) g;
SELECT setval('app.order_ids', 300);
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA app TO app;
GRANT pg_read_all_data TO app;
`;
/** What live's unlogged relations hold; the restore has them empty. */
const UNLOGGED_ROWS = `
INSERT INTO app.cache SELECT g, 'cached ' || g FROM generate_series(1, 500) g;
INSERT INTO app.events SELECT g, date '2030-06-01' FROM generate_series(1, 25) g;
SELECT nextval('app.tickets') FROM generate_series(1, 7);
`;

let server: PgServer;
const dbs: ReadOnlyDb[] = [];
const conn = (database: string, user = 'postgres') => ({
  host: server.host,
  port: server.port,
  user,
  password: '',
  database,
});

/** Live as the drill reads it (sessions.ts): the app role, read-only, row_security off. */
const live = () =>
  open(
    new ReadOnlyDb(conn('live', 'app'), {
      statementTimeoutMs: 10_000,
      poolSize: 2,
      settings: UNFILTERED_READ_SETTINGS,
    }),
  );
/** The restore as the drill reads it: its superuser, RESTORE_READ_SETTINGS. */
const restore = () =>
  open(new ReadOnlyDb(conn('restored'), { statementTimeoutMs: 10_000, poolSize: 2, settings: RESTORE_READ_SETTINGS }));
function open(db: ReadOnlyDb): ReadOnlyDb {
  dbs.push(db);
  return db;
}

const SETTINGS: CountSettings = { live: 'exact', liveExactMaxBytes: 0, concurrency: 2, tolerance: 0, floor: 0 };

beforeAll(async () => {
  server = await startPgServer();
  await server.createDatabase('live');
  await (await server.admin('live')).query(FIXTURE + UNLOGGED_ROWS);
  await server.restart(); // closes every client, so live can be the template
  await (await server.admin('postgres')).query('CREATE DATABASE restored TEMPLATE live');
  // A crash: the next start recovers, and the end of recovery resets unlogged relations in every database.
  await server.restart(undefined, 'immediate');
  const admin = await server.admin('live');
  const [{ n }] = (await admin.query<{ n: string }>('SELECT count(*) AS n FROM app.cache')).rows;
  expect(Number(n)).toBe(0); // PostgreSQL's own reset, not the test's
  await admin.query(UNLOGGED_ROWS);
}, 120_000);

afterAll(async () => expect(await stopAndCheck(server, dbs)).toBe(true));

describe('live tables a restore is not judged on', () => {
  it('unlogged tables and partitions, and a table under row-level security: not compared, named, no failure', async () => {
    const base = await takeBaseline(live(), 'live', SETTINGS);
    expect(base.counts.map((c) => `${c.schema}.${c.table}`)).not.toContain('app.cache');
    const c = await compareWithRestore(restore(), base, SETTINGS);
    expect(c.outOfTolerance).toEqual([]);
    // The unlogged tables exist on the restore: the schema comparison still expects them.
    expect(c.schemaDifferences).toEqual([]);
    expect(c.counts.map((x) => `${x.schema}.${x.table} ${x.live} ${x.other}`)).toEqual([
      'app.events_2024 40 40',
      'app.orders 300 300',
    ]);
    expect(c.notCompared).toEqual({
      tables: [
        { schema: 'app', table: 'tenant_rows', restored: 90, why: 'row security' },
        { schema: 'app', table: 'cache', why: 'unlogged' },
        { schema: 'app', table: 'events_scratch', why: 'unlogged' },
      ],
      role: 'app',
    });
    expect(notComparedNote(c)).toEqual([
      "database live: not compared: row security applies to the drill's role on live (grant BYPASSRLS or use a " +
        "role that bypasses it) (the drill's role: app): app.tenant_rows.",
      'database live: not compared: unlogged (PostgreSQL does not restore their contents): app.cache, app.events_scratch.',
    ]);
  });

  it('a role that bypasses row security compares the table', async () => {
    await (await server.admin('live')).query('ALTER ROLE app BYPASSRLS');
    try {
      const c = await compareWithRestore(restore(), await takeBaseline(live(), 'live', SETTINGS), SETTINGS);
      expect(c.counts.find((x) => x.table === 'tenant_rows')).toMatchObject({ live: 90, other: 90, within: true });
      expect(c.notCompared?.tables.map((t) => t.why)).toEqual(['unlogged', 'unlogged']);
    } finally {
      await (await server.admin('live')).query('ALTER ROLE app NOBYPASSRLS');
    }
  });

  it('content: unlogged tables and sequences are neither digested nor compared', async () => {
    const l = live();
    const base = await takeBaseline(l, 'live', SETTINGS);
    const content = await takeLiveContent(l, 'live', base.schema, {
      content: true,
      maxBytes: 1 << 30,
      concurrency: 2,
      statementTimeoutMs: 10_000,
      checks: [],
    });
    expect((await readSequences(l)).map((s) => s.name)).toEqual(['order_ids']);
    // The restore's unlogged sequence is back at its start (never called), live's is at 7.
    const last = async (database: string) =>
      (await (await server.admin(database)).query(`SELECT last_value FROM pg_sequences WHERE sequencename = 'tickets'`))
        .rows[0].last_value;
    expect([await last('live'), await last('restored')]).toEqual(['7', null]);
    const { comparison } = await compareContent(restore(), 'live', content, {
      concurrency: 2,
      judged: true,
      sensitive: [],
    });
    expect(comparison.differing).toEqual([]);
    expect(comparison.sequences).toEqual({ compared: 1, differing: [] });
    // Under row_security off live refuses the digest: not compared, PostgreSQL's reason given.
    expect(comparison.notCompared).toEqual([
      expect.objectContaining({ table: 'app.tenant_rows', why: expect.stringMatching(/row-level security policy/) }),
    ]);
  });

  it('the restore: its reset unlogged relations verify with amcheck, nothing unverified', async () => {
    const amcheck = await installAmcheck(conn('restored'), 30_000);
    const v = await verifyRestore(restore(), 'restored', amcheck, { mode: 'amcheck', concurrency: 2 });
    expect(v.relations.map((r) => `${r.kind} ${r.name}`)).toEqual(
      expect.arrayContaining(['table cache', 'index cache_pkey', 'table events_scratch']),
    );
    expect(verificationReasons(v)).toEqual([]);
  });
});
