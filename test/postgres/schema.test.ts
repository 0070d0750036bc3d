// Schema snapshot and diff against a real PostgreSQL 15 server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { diffSchemas, snapshotSchema, userTables, type SchemaSnapshot } from '../../actions/lib/postgres/schema.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

const FIXTURE = `
CREATE EXTENSION citext;
CREATE EXTENSION pg_trgm;
CREATE SCHEMA app;
CREATE TABLE app.customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email citext NOT NULL UNIQUE,
  name varchar(80),
  created timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT name_not_blank CHECK (char_length(name) > 0));
CREATE TABLE app.orders (
  id serial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES app.customers(id) ON DELETE CASCADE,
  total numeric(12,2) NOT NULL CHECK (total >= 0),
  total_cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED,
  note text,
  status varchar(20) DEFAULT 'new');
ALTER TABLE app.orders REPLICA IDENTITY FULL;
CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE INDEX customers_name_trgm ON app.customers USING gin (name gin_trgm_ops);
CREATE SEQUENCE app.invoice_no AS integer;
CREATE VIEW app.big_orders AS SELECT id, total FROM app.orders WHERE total > 100;
CREATE MATERIALIZED VIEW app.order_totals AS SELECT customer_id, sum(total) AS total FROM app.orders GROUP BY customer_id;
CREATE UNIQUE INDEX order_totals_customer ON app.order_totals (customer_id);
CREATE TABLE app.events (id bigint NOT NULL, at date NOT NULL, payload jsonb, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_default PARTITION OF app.events DEFAULT;
CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v bytea);
CREATE TABLE public."Mixed ""Case""" (id int);
CREATE SCHEMA scratch;
CREATE TABLE scratch.tmp (x int);
INSERT INTO app.customers (email, name) SELECT 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 50) g;
INSERT INTO app.orders (customer_id, total) SELECT 1 + g % 50, g FROM generate_series(1, 200) g;
`;

let server: PgServer;
const dbs: ReadOnlyDb[] = [];

function readOnly(database: string): ReadOnlyDb {
  const db = new ReadOnlyDb(
    { host: server.host, port: server.port, user: 'postgres', password: '', database },
    { statementTimeoutMs: 10_000, poolSize: 2 },
  );
  dbs.push(db);
  return db;
}

async function createFixture(database: string, extraSql = ''): Promise<void> {
  await server.createDatabase(database);
  const admin = await server.admin(database);
  await admin.query(FIXTURE);
  if (extraSql) await admin.query(extraSql);
}

beforeAll(async () => {
  server = await startPgServer();
  await createFixture('live');
});

afterAll(async () => expect(await stopAndCheck(server, dbs)).toBe(true));

describe('snapshotSchema', () => {
  let snap: SchemaSnapshot;
  beforeAll(async () => {
    snap = await snapshotSchema(readOnly('live'));
  });

  it('lists user schemas only, extensions with versions', () => {
    expect(snap.database).toBe('live');
    expect(snap.schemas).toEqual(['app', 'public', 'scratch']);
    expect(snap.extensions.map((e) => e.name)).toEqual(['citext', 'pg_trgm', 'plpgsql']);
    for (const e of snap.extensions) expect(e.version).toMatch(/^\d+\.\d+$/);
  });

  it('captures tables, columns and types, defaults, identity and generated columns, PKs', () => {
    const customers = snap.tables.find((t) => t.schema === 'app' && t.name === 'customers')!;
    expect(customers).toMatchObject({
      kind: 'table',
      persistence: 'permanent',
      primaryKey: ['id'],
      replicaIdentity: 'default',
    });
    expect(customers.columns).toEqual([
      { name: 'id', type: 'bigint', notNull: true, default: 'GENERATED ALWAYS AS IDENTITY' },
      { name: 'email', type: 'public.citext', notNull: true }, // schema-qualified: search_path is pg_catalog
      { name: 'name', type: 'character varying(80)', notNull: false },
      { name: 'created', type: 'timestamp with time zone', notNull: true, default: 'now()' },
    ]);
    expect(customers.sizeBytes).toBeGreaterThan(0);
    const orders = snap.tables.find((t) => t.name === 'orders')!;
    expect(orders.replicaIdentity).toBe('full');
    expect(orders.columns.find((c) => c.name === 'id')!.default).toBe("nextval('app.orders_id_seq'::regclass)");
    expect(orders.columns.find((c) => c.name === 'total')!.type).toBe('numeric(12,2)');
    expect(orders.columns.find((c) => c.name === 'total_cents')!.default).toMatch(
      /^GENERATED ALWAYS AS \(.*total.*\) STORED$/,
    );
  });

  it('captures declarative partitions, unlogged tables and names that need quoting', () => {
    const events = snap.tables.find((t) => t.name === 'events')!;
    expect(events).toMatchObject({ kind: 'partitioned', primaryKey: ['id', 'at'], sizeBytes: 0 });
    expect(events.partitionOf).toBeUndefined();
    const leaves = snap.tables.filter((t) => t.partitionOf === 'app.events');
    expect(leaves.map((t) => [t.name, t.partitionBound])).toEqual([
      ['events_2024', "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"],
      ['events_2025', "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"],
      ['events_default', 'DEFAULT'],
    ]);
    expect(snap.tables.find((t) => t.name === 'cache')!.persistence).toBe('unlogged');
    expect(snap.tables.find((t) => t.schema === 'public')!.name).toBe('Mixed "Case"');
  });

  it('captures indexes, constraints (PK, FK, unique, check), sequences, views and materialized views', () => {
    const index = (name: string) => snap.indexes.find((i) => i.name === name)?.definition;
    expect(index('orders_customer_idx')).toBe(
      'CREATE INDEX orders_customer_idx ON app.orders USING btree (customer_id)',
    );
    expect(index('customers_name_trgm')).toBe(
      'CREATE INDEX customers_name_trgm ON app.customers USING gin (name public.gin_trgm_ops)',
    );
    expect(index('order_totals_customer')).toMatch(/^CREATE UNIQUE INDEX order_totals_customer ON app.order_totals/);
    const constraint = (table: string, type: string) =>
      snap.constraints.filter((k) => k.table === table && k.type === type).map((k) => k.definition);
    expect(constraint('orders', 'foreign key')).toEqual([
      'FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE CASCADE',
    ]);
    expect(constraint('customers', 'unique')).toEqual(['UNIQUE (email)']);
    expect(constraint('customers', 'check')).toEqual(['CHECK ((char_length((name)::text) > 0))']);
    expect(constraint('orders', 'primary key')).toEqual(['PRIMARY KEY (id)']);
    expect(snap.sequences).toEqual([
      { schema: 'app', name: 'customers_id_seq', dataType: 'bigint' },
      { schema: 'app', name: 'invoice_no', dataType: 'integer' },
      { schema: 'app', name: 'orders_id_seq', dataType: 'integer' },
    ]);
    expect(snap.views.map((v) => [v.name, v.materialized])).toEqual([
      ['big_orders', false],
      ['order_totals', true],
    ]);
    // Whitespace normalised: pg_get_viewdef pretty-prints over several lines.
    for (const v of snap.views) expect(v.definition).not.toMatch(/\n| {2}/);
  });

  it('userTables counts leaf partitions, never the partitioned parent', () => {
    const names = userTables(snap).map((t) => `${t.schema}.${t.name}`);
    expect(names).toContain('app.events_2024');
    expect(names).toContain('app.events_default');
    expect(names).not.toContain('app.events');
    expect(names).toContain('public.Mixed "Case"');
  });

  it('a table held ACCESS EXCLUSIVE fails the snapshot with the table and the holder named', async () => {
    const locker = await server.admin('live');
    await locker.query('BEGIN; LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE');
    const [{ pid }] = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    try {
      const db = new ReadOnlyDb(
        { host: server.host, port: server.port, user: 'postgres', password: '', database: 'live' },
        { statementTimeoutMs: 300 },
      );
      dbs.push(db);
      await expect(snapshotSchema(db)).rejects.toThrow(
        `schema snapshot of database 'live' timed out (canceling statement due to statement timeout): ` +
          `app.orders is locked ACCESS EXCLUSIVE by backend pid ${pid}`,
      );
    } finally {
      await locker.query('ROLLBACK');
    }
  });

  it('does not depend on the connecting role or its search_path', async () => {
    const admin = await server.admin('live');
    await admin.query(`CREATE ROLE app_user LOGIN; ALTER ROLE app_user SET search_path = app, public;
      GRANT USAGE ON SCHEMA app, scratch TO app_user`);
    const db = new ReadOnlyDb(
      { host: server.host, port: server.port, user: 'app_user', password: '', database: 'live' },
      { statementTimeoutMs: 10_000 },
    );
    dbs.push(db);
    expect(diffSchemas(snap, await snapshotSchema(db))).toEqual([]);
  });

  it('is deterministic', async () => {
    expect(await snapshotSchema(readOnly('live'))).toEqual(snap);
  });
});

describe('diffSchemas', () => {
  it('identical databases give no differences', async () => {
    await createFixture('twin');
    const [live, twin] = await Promise.all([snapshotSchema(readOnly('live')), snapshotSchema(readOnly('twin'))]);
    expect(diffSchemas(live, twin)).toEqual([]);
  });

  it('detects a missing table, a missing column, a changed type, a missing index and an extra table', async () => {
    await createFixture(
      'drift1',
      `DROP TABLE app.cache;
       ALTER TABLE app.orders DROP COLUMN note;
       ALTER TABLE app.orders ALTER COLUMN status TYPE varchar(40);
       DROP INDEX app.orders_customer_idx;
       CREATE TABLE app.extra (id int PRIMARY KEY);`,
    );
    const [live, restored] = await Promise.all([snapshotSchema(readOnly('live')), snapshotSchema(readOnly('drift1'))]);
    const diffs = diffSchemas(live, restored);
    expect(diffs.map((d) => [d.kind, d.objectType, d.name])).toEqual([
      ['missing', 'table', 'app.cache'],
      ['extra', 'table', 'app.extra'],
      ['missing', 'column', 'app.orders.note'],
      ['changed', 'column', 'app.orders.status'],
      ['missing', 'index', 'app.orders_customer_idx'],
    ]);
    expect(diffs[0].detail).toBe('on live, absent from the restored database (2 columns, 1 index, 1 constraint)');
    expect(diffs[3].detail).toBe('type: character varying(20) on live, character varying(40) restored');
    // The missing table's own index and PK are covered by its line, not listed again.
    expect(diffs.some((d) => d.name.includes('cache_pkey'))).toBe(false);
  });

  it('detects partitions, extensions, replica identity, sequences, views, materialized views and schemas', async () => {
    await createFixture(
      'drift2',
      `DROP TABLE app.events_default;
       DROP EXTENSION pg_trgm CASCADE;
       ALTER TABLE app.orders REPLICA IDENTITY DEFAULT;
       ALTER SEQUENCE app.invoice_no AS bigint;
       CREATE OR REPLACE VIEW app.big_orders AS SELECT id, total FROM app.orders WHERE total > 500;
       DROP MATERIALIZED VIEW app.order_totals;
       DROP SCHEMA scratch CASCADE;`,
    );
    const [live, restored] = await Promise.all([snapshotSchema(readOnly('live')), snapshotSchema(readOnly('drift2'))]);
    const diffs = diffSchemas(live, restored);
    expect(diffs.map((d) => [d.kind, d.objectType, d.name])).toEqual([
      ['missing', 'extension', 'pg_trgm'],
      ['missing', 'schema', 'scratch'],
      ['missing', 'partition', 'app.events_default'],
      ['changed', 'table', 'app.orders'],
      ['missing', 'index', 'app.customers_name_trgm'],
      ['changed', 'sequence', 'app.invoice_no'],
      ['changed', 'view', 'app.big_orders'],
      ['missing', 'materialized view', 'app.order_totals'],
    ]);
    expect(diffs[1].detail).toMatch(/contains 1 table/);
    expect(diffs[2].detail).toMatch(/partition of app\.events/);
    expect(diffs[3].detail).toBe('replica identity: full on live, default restored');
  });
});

describe('scale', () => {
  it('snapshots 1,000 tables quickly, in one transaction of a few catalog queries', async () => {
    await server.createDatabase('many');
    const admin = await server.admin('many');
    await admin.query(`DO $$ BEGIN
      FOR i IN 1..1000 LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, name text NOT NULL, at timestamptz DEFAULT now())', i);
        EXECUTE format('CREATE INDEX t%s_name ON t%s (name)', i, i);
      END LOOP; END $$`);
    const db = readOnly('many');
    let statements = 0;
    const transaction = db.transaction.bind(db);
    let transactions = 0;
    db.transaction = ((fn: Parameters<typeof transaction>[0], isolation?: 'READ COMMITTED' | 'REPEATABLE READ') => {
      transactions++;
      return transaction((q) => fn((sql, params) => (statements++, q(sql, params))), isolation);
    }) as typeof db.transaction;
    const started = performance.now();
    const snap = await snapshotSchema(db);
    const ms = performance.now() - started;
    console.log(
      `snapshot of 1,000 tables: ${ms.toFixed(0)} ms, ${statements} statements in ${transactions} transaction`,
    );
    expect(snap.tables).toHaveLength(1000);
    expect(snap.indexes).toHaveLength(2000);
    expect(snap.tables.every((t) => t.columns.length === 3)).toBe(true);
    expect(transactions).toBe(1);
    expect(statements).toBeLessThanOrEqual(10);
    expect(ms).toBeLessThan(8000); // ~200 ms idle; generous for a loaded 2-core runner
  });
});
