// The publisher and subscriber reads against a real logical-replication pair of plain
// PostgreSQL 15 servers: each gate's measurement turns on its real cause, the reads work as
// non-superusers, and nothing is written (statement log and tuple counters).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 });
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { checkCoverage, coverageProblems } from '../../actions/lib/soak/coverage.js';
import { lagGate, tablesReadyGate } from '../../actions/lib/soak/gates.js';
import { publisherConnInfo, readPublisher } from '../../actions/lib/soak/publisher.js';
import { readSubscriber } from '../../actions/lib/soak/subscriber.js';
import { PlainPostgres } from './plain-postgres.js';
import {
  burnWal,
  PUBLICATION,
  REPL_PASSWORD,
  REPL_USER,
  setUpPublisher,
  setUpSubscriber,
  SUBSCRIPTION,
  READ_ONLY_STATEMENT,
  statementsOf,
  waitCaughtUp,
  waitFor,
  withTableStuckInCopy,
  type Sql,
} from './pair.js';

const APP_PASSWORD = 'app-pw-51c2';
const thresholds = { maxSubscriberLagBytes: 1024 * 1024, maxSlotRetainedBytes: 1024 * 1024, maxMessageAgeMs: 300_000 };

let pub: PlainPostgres;
let sub: PlainPostgres;
let pubSql: Sql;
let subSql: Sql;
let pubDb: ReadOnlyDb;
let subDb: ReadOnlyDb;

beforeAll(async () => {
  // Small slot budget so invalidation is reachable; log every statement to prove read-only.
  [pub, sub] = await Promise.all([
    PlainPostgres.start({ max_slot_wal_keep_size: '48MB', wal_keep_size: '0', log_statement: 'all' }),
    PlainPostgres.start({ log_statement: 'all' }),
  ]);
  pubSql = await setUpPublisher(pub);
  await sub.query(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}'`);
  await sub.query('CREATE DATABASE app OWNER app');
  subSql = (s, p) => sub.query(s, p, 'app');
  await setUpSubscriber(subSql, pub, 'app');
  const opts = { statementTimeoutMs: 5000, applicationName: 'soak-gate-check' };
  pubDb = new ReadOnlyDb(
    publisherConnInfo(
      { host: '127.0.0.1', port: String(pub.port), username: REPL_USER, password: REPL_PASSWORD, dbname: 'app' },
      't',
    ),
    opts,
  );
  subDb = new ReadOnlyDb(
    { host: '127.0.0.1', port: sub.port, user: 'app', password: APP_PASSWORD, database: 'app' },
    opts,
  );
});

afterAll(async () => {
  await pubDb?.close();
  await subDb?.close();
  await Promise.all([pub?.stop(), sub?.stop()]);
});

const measure = async () => {
  const s = await readSubscriber(subDb, SUBSCRIPTION);
  const p = await readPublisher(pubDb, PUBLICATION, s.subscription?.slotName ?? SUBSCRIPTION);
  return { s, p };
};

describe('reads of a healthy pair (as non-superusers)', () => {
  it('see the subscription streaming, the slot active and the publication covering both sides', async () => {
    await pubSql('INSERT INTO orders SELECT g, 1 FROM generate_series(501, 600) g');
    await waitCaughtUp(pubSql, subSql);
    const { s, p } = await measure();
    expect(s.subscription).toMatchObject({
      name: SUBSCRIPTION,
      enabled: true,
      slotName: SUBSCRIPTION,
      publications: [PUBLICATION],
    });
    expect(s.tables.map((t) => `${t.schema}.${t.name}:${t.state}`).sort()).toEqual([
      'public.events:r',
      'public.items:r',
      'public.orders:r',
    ]);
    expect(s.worker?.messageAgeSeconds).toBeLessThan(60);
    expect(s.worker?.lagBytes).toBeGreaterThanOrEqual(0);
    expect(p.slot).toMatchObject({ name: SUBSCRIPTION, type: 'logical', active: true, walStatus: 'reserved' });
    expect(p.slot!.retainedBytes).toBeLessThan(1024 * 1024);
    expect(p.publication).toEqual({ name: PUBLICATION, allTables: false, publishesUpdates: true });
    expect(tablesReadyGate(s).passed).toBe(true);
    expect(lagGate(s, p, SUBSCRIPTION, thresholds)).toMatchObject({ passed: true, detail: 'streaming' });
    const c = checkCoverage(p, s, []);
    expect(coverageProblems(c)).toEqual([]);
    expect(c.expected.map((t) => t.name).sort()).toEqual(['events', 'items', 'orders']); // the unlogged cache is left out
  });
  it('never write: every statement of the reader is a read, and tuple counters do not move', async () => {
    const counters = (sql: Sql) =>
      sql<{ n: string }>(`SELECT sum(n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables`);
    const before = [await counters(pubSql), await counters(subSql)];
    await measure();
    await new Promise((r) => setTimeout(r, 700)); // stats flush
    expect([await counters(pubSql), await counters(subSql)]).toEqual(before);
    for (const server of [pub, sub]) {
      const statements = statementsOf(server.log(), 'soak-gate-check');
      expect(statements.length).toBeGreaterThan(4);
      expect(statements.some((s) => s.includes('pg_replication_slots') || s.includes('pg_subscription'))).toBe(true);
      for (const s of statements) expect(s).toMatch(READ_ONLY_STATEMENT);
    }
  });
});

describe('each cause shows in its measurement', () => {
  it('a disabled subscription while writes continue: no apply worker, slot inactive, WAL retained', async () => {
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`);
    await waitFor(
      'slot inactive',
      async () =>
        (
          await pubSql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
            SUBSCRIPTION,
          ])
        )[0]?.active === false,
    );
    await pubSql(`INSERT INTO items SELECT g, repeat('x', 500) FROM generate_series(1000, 5000) g`);
    const { s, p } = await measure();
    const g = lagGate(s, p, SUBSCRIPTION, thresholds);
    expect(g.passed).toBe(false);
    expect(g.detail).toMatch(
      /^subscription is disabled; no apply worker running on the subscriber; slot soak_sub is inactive; slot retains [\d.]+ MiB, over 1.0 MiB$/,
    );
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} ENABLE`);
    await waitCaughtUp(pubSql, subSql);
    const after = await measure();
    expect(lagGate(after.s, after.p, SUBSCRIPTION, thresholds).passed).toBe(true);
  });

  it('a table stuck in d: its initial copy blocked by a lock on the publisher', async () => {
    await withTableStuckInCopy(pub, pubSql, subSql, async () => {
      const g = tablesReadyGate(await readSubscriber(subDb, SUBSCRIPTION));
      expect(g).toMatchObject({ passed: false, value: '3/4 ready', detail: 'public.locked: d (data copy)' });
    });
    expect(tablesReadyGate(await readSubscriber(subDb, SUBSCRIPTION)).passed).toBe(true);
  });

  it('a table on one side only and a PK-less published table without replica identity', async () => {
    await subSql('CREATE TABLE public.sub_only (id int PRIMARY KEY)');
    await pubSql('CREATE TABLE public.nopk (v text)');
    await subSql('CREATE TABLE public.nopk (v text)');
    await pubSql(`ALTER PUBLICATION ${PUBLICATION} ADD TABLE public.nopk`);
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} REFRESH PUBLICATION`);
    const { s, p } = await measure();
    expect(coverageProblems(checkCoverage(p, s, []))).toEqual([
      'only on the subscriber: public.sub_only',
      'public.nopk: no primary key and REPLICA IDENTITY DEFAULT (set REPLICA IDENTITY FULL or USING INDEX)',
    ]);
    await pubSql('ALTER TABLE public.nopk REPLICA IDENTITY FULL');
    const again = await measure();
    expect(coverageProblems(checkCoverage(again.p, again.s, [{ schema: 'public', name: 'sub_only' }]))).toEqual([]);
    await subSql('DROP TABLE public.sub_only');
  });

  it('an invalidated slot: max_slot_wal_keep_size exceeded while the subscription is disabled', async () => {
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`);
    await waitFor(
      'slot inactive',
      async () =>
        (
          await pubSql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
            SUBSCRIPTION,
          ])
        )[0]?.active === false,
    );
    await burnWal(pubSql, 5);
    await pubSql('CHECKPOINT');
    const { s, p } = await measure();
    expect(p.slot?.walStatus).toBe('lost');
    expect(lagGate(s, p, SUBSCRIPTION, thresholds).detail).toMatch(/slot soak_sub wal_status is lost \(invalidated/);
  });
});
