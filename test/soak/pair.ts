// Test fixture: a soak between a publisher (a plain PostgreSQL server) and a subscriber
// (a plain server, or a playground cluster's primary reached as superuser): schema on both
// sides, a publication, a subscription, and helpers to wait for states.
import type pg from 'pg';
import { waitFor } from '../helpers/wait.js';
import type { PlainPostgres } from './plain-postgres.js';

export { waitFor };

export const PUBLICATION = 'soak_pub';
export const SUBSCRIPTION = 'soak_sub';
export const REPL_USER = 'soak_repl';
export const REPL_PASSWORD = 'repl-pw-7f3a9c';

/** Runs SQL as a superuser in a given database (the subscriber side may be any server). */
export type Sql = <T extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params?: unknown[],
) => Promise<T[]>;

export const BASE_TABLES = ['orders', 'items', 'events'];

export const SCHEMA_SQL = `
CREATE TABLE public.orders (id bigint PRIMARY KEY, amount int NOT NULL);
CREATE TABLE public.items (id bigint PRIMARY KEY, name text);
CREATE TABLE public.events (happened timestamptz NOT NULL, payload text);
ALTER TABLE public.events REPLICA IDENTITY FULL;
CREATE UNLOGGED TABLE public.cache (k text PRIMARY KEY, v text);
`;

/** Publisher database `app` with schema, data, a replication role and the publication. */
export async function setUpPublisher(pub: PlainPostgres): Promise<Sql> {
  await pub.query('CREATE DATABASE app');
  const sql: Sql = (s, p) => pub.query(s, p, 'app');
  await sql(SCHEMA_SQL);
  await sql(`INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 500) g`);
  await sql(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g`);
  await sql(`INSERT INTO events SELECT now(), 'e' || g FROM generate_series(1, 30) g`);
  await sql(`CREATE ROLE ${REPL_USER} LOGIN REPLICATION PASSWORD '${REPL_PASSWORD}'`);
  await sql(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${REPL_USER}`);
  await sql(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${REPL_USER}`);
  await sql(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE orders, items, events`);
  return sql;
}

export function publisherConninfo(pub: PlainPostgres): string {
  return `host=127.0.0.1 port=${pub.port} user=${REPL_USER} password=${REPL_PASSWORD} dbname=app`;
}

/** Schema and subscription on the subscriber (sql runs as superuser in its app database). */
export async function setUpSubscriber(sql: Sql, pub: PlainPostgres, owner?: string): Promise<void> {
  await sql(SCHEMA_SQL);
  if (owner) for (const t of [...BASE_TABLES, 'cache']) await sql(`ALTER TABLE public.${t} OWNER TO ${owner}`);
  await sql(`CREATE SUBSCRIPTION ${SUBSCRIPTION} CONNECTION '${publisherConninfo(pub)}' PUBLICATION ${PUBLICATION}`);
  await waitFor('all tables ready', async () => allReady(sql));
}

export async function allReady(sql: Sql): Promise<boolean> {
  const rows = await sql<{ state: string }>(
    `SELECT sr.srsubstate AS state FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1`,
    [SUBSCRIPTION],
  );
  return rows.length > 0 && rows.every((r) => r.state === 'r');
}

/** Waits until the subscriber has applied everything the publisher has written so far. */
export async function waitCaughtUp(pubSql: Sql, subSql: Sql): Promise<void> {
  const [{ lsn }] = await pubSql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  await waitFor('subscriber caught up', async () => {
    const [w] = await subSql<{ ok: boolean }>(
      `SELECT latest_end_lsn >= $1::pg_lsn AS ok FROM pg_stat_subscription WHERE subname = $2 AND relid IS NULL`,
      [lsn, SUBSCRIPTION],
    );
    const [slot] = await pubSql<{ ok: boolean }>(
      `SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2`,
      [lsn, SUBSCRIPTION],
    );
    return !!w?.ok && !!slot?.ok;
  });
}

/**
 * Publishes a new table `public.locked` while a publisher session holds ACCESS EXCLUSIVE on it,
 * so the subscriber's initial copy sits in state `d`; runs `check` then, releases the lock and
 * waits until every table is `r` again.
 */
export async function withTableStuckInCopy(
  pub: PlainPostgres,
  pubSql: Sql,
  subSql: Sql,
  check: () => Promise<void>,
): Promise<void> {
  await pubSql(
    'CREATE TABLE public.locked (id int PRIMARY KEY); INSERT INTO public.locked SELECT generate_series(1, 10)',
  );
  await subSql('CREATE TABLE public.locked (id int PRIMARY KEY); ALTER TABLE public.locked OWNER TO app');
  await pubSql(`ALTER PUBLICATION ${PUBLICATION} ADD TABLE public.locked`);
  const holder = await pub.session('app');
  try {
    await holder.query('BEGIN; LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE');
    await subSql(`ALTER SUBSCRIPTION ${SUBSCRIPTION} REFRESH PUBLICATION`);
    await waitFor(
      'public.locked in state d',
      async () =>
        (
          await subSql<{ s: string }>(
            "SELECT srsubstate AS s FROM pg_subscription_rel WHERE srrelid = 'public.locked'::regclass",
          )
        )[0]?.s === 'd',
      30_000,
    );
    await check();
  } finally {
    await holder.query('COMMIT').catch(() => {});
    await holder.end();
  }
  await waitFor('all tables ready', () => allReady(subSql), 60_000);
}

/** Generates WAL quickly: a write, then a segment switch, n times. */
export async function burnWal(pubSql: Sql, segments: number): Promise<void> {
  for (let i = 0; i < segments; i++) {
    await pubSql(`INSERT INTO items VALUES (100000 + ${i} + (random() * 1e9)::bigint, 'wal')`);
    await pubSql('SELECT pg_switch_wal()');
  }
}

/** Statements a session with this application_name ran, from a server log with %a in log_line_prefix. */
export function statementsOf(log: string, app: string): string[] {
  const lines = log.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].includes(`app=${app} `)) continue;
    const m = /LOG:\s+(?:statement|execute [^:]*): (.*)$/.exec(lines[i]);
    if (!m) continue;
    let text = m[1];
    // Multi-line statements continue on tab-indented lines.
    while (i + 1 < lines.length && lines[i + 1].startsWith('\t')) text += ' ' + lines[++i].trim();
    // The session's opening is one simple query of several statements (postgres/readonly.ts):
    // judge each of them, so a smuggled write in such a query would still show.
    out.push(
      ...text
        .replace(/\s+/g, ' ')
        .trim()
        .split(/;\s*(?=\S)/)
        .map((x) => x.replace(/;$/, '')),
    );
  }
  return out;
}

/** What a read-only reader may send: its transaction frame and SELECTs. */
export const READ_ONLY_STATEMENT =
  /^(BEGIN TRANSACTION ISOLATION LEVEL (READ COMMITTED|REPEATABLE READ) READ ONLY|SET LOCAL statement_timeout = \d+|SET TRANSACTION SNAPSHOT '[0-9A-F-]+'|COMMIT|ROLLBACK|SELECT\b.*)$/;
