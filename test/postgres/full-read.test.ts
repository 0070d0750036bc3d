// The full read reads every heap page: on a VACUUMed database (visibility map all-visible) a plain
// count(*) takes an index-only scan and never opens the heap, so a heap zeroed in the backup still
// counts in full. The restore's sessions (RESTORE_READ_SETTINGS) leave PostgreSQL only sequential
// scans, proved by the plan of every statement the read runs, and read each table's TOAST table too.
// The same on the majors around the distribution's, real servers from .ci/setup.sh: PostgreSQL 13
// (amcheck 1.2, no verify_heapam: verify degrades to the B-tree checks and the full read, with a
// note) and 18.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  explainRead,
  NOT_A_FULL_READ,
  readAllRows,
  RESTORE_READ_SETTINGS,
} from '../../actions/lib/postgres/full-read.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { installAmcheck, verificationReasons, verifyRestore } from '../../actions/lib/postgres/verify.js';
import { zeroPages } from '../helpers/pages.js';
import { serverGone, startPgServer, type PgServer } from './pg-server.js';

// ledger: ~240-byte rows, so its heap is ~10x its primary key: the planner prefers the index-only scan.
// docs: values stored out of line uncompressed (STORAGE EXTERNAL), so its TOAST table holds the data.
const fixture = (schema: string, ledgerRows: number, docsRows: number) => `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE ${schema}.ledger (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO ${schema}.ledger SELECT g, repeat('x', 200) || g FROM generate_series(1, ${ledgerRows}) g;
CREATE TABLE ${schema}.docs (id int PRIMARY KEY, body text NOT NULL);
ALTER TABLE ${schema}.docs ALTER body SET STORAGE EXTERNAL;
INSERT INTO ${schema}.docs SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, ${docsRows}) g;
`;
const tablesOf = (schema: string) => [
  { schema, name: 'ledger' },
  { schema, name: 'docs' },
];
const TABLES = tablesOf('shop');

let s: PgServer;
const dbs: ReadOnlyDb[] = [];

function open(settings?: Record<string, string | number>): ReadOnlyDb {
  const db = new ReadOnlyDb(
    { host: s.host, port: s.port, user: 'postgres', password: '', database: 'app' },
    { statementTimeoutMs: 30_000, poolSize: 2, settings },
  );
  dbs.push(db);
  return db;
}

async function filepath(sql: string): Promise<string> {
  const [{ file }] = (await (await s.admin('app')).query<{ file: string }>(sql)).rows;
  return path.join(s.dataDir, file);
}

beforeAll(async () => {
  s = await startPgServer();
  await s.createDatabase('app');
  const admin = await s.admin('app');
  await admin.query(fixture('shop', 60000, 300));
  // The user's normal case: vacuumed, so the visibility map says every page is all-visible.
  await admin.query('VACUUM (ANALYZE) shop.ledger, shop.docs');
}, 120_000);

afterAll(async () => {
  await Promise.all(dbs.map((db) => db.close().catch(() => {})));
  await s?.stop();
  if (s) expect(serverGone(s.dir)).toBe(true);
});

describe('the plan of every statement of the full read', () => {
  it('a plain count(*) of a vacuumed table is an index-only scan', async () => {
    const plan = await open().query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT count(*) FROM shop.ledger');
    expect(plan.map((l) => l['QUERY PLAN']).join('\n')).toMatch(/Index Only Scan using ledger_pkey on ledger/);
  });

  it('the full read: only sequential scans, the TOAST table read too, even when the database turns seqscans off', async () => {
    await (await s.admin('app')).query('ALTER DATABASE app SET enable_seqscan = off');
    try {
      const plans = await explainRead(open(RESTORE_READ_SETTINGS), TABLES);
      const relations = plans.flatMap((p) => p.relations);
      expect(relations).toEqual(expect.arrayContaining(['shop.ledger', 'shop.docs']));
      expect(relations.some((r) => /^pg_toast\.pg_toast_\d+$/.test(r))).toBe(true);
      for (const p of plans) {
        const shape = p.nodes.join(' > ');
        expect(shape, p.relations.join(', ')).not.toMatch(NOT_A_FULL_READ);
        expect(p.nodes.filter((n) => /Seq Scan on /.test(n))).toHaveLength(p.relations.length);
      }
      console.log(plans.map((p) => `${p.relations.join(', ')}: ${p.nodes.join(' > ')}`).join('\n'));
    } finally {
      await (await s.admin('app')).query('ALTER DATABASE app RESET enable_seqscan');
    }
  });
});

describe('a heap lost under an intact index and visibility map', () => {
  it('a zeroed heap: count(*) still says 60000, the full read says 0', async () => {
    const file = await filepath(`SELECT pg_relation_filepath('shop.ledger') AS file`);
    await s.restart(() => {
      const buf = readFileSync(file);
      zeroPages(buf, 0);
      writeFileSync(file, buf);
    });
    const [{ n }] = await open().query<{ n: string }>('SELECT count(*) AS n FROM shop.ledger');
    expect(Number(n)).toBe(60000);
    const [ledger] = await readAllRows(open(RESTORE_READ_SETTINGS), [TABLES[0]], { concurrency: 1 });
    expect([ledger.rows, ledger.error]).toEqual([0, undefined]);
  });

  it('a TOAST table gone: count(*) of the table succeeds, the full read names the table and its TOAST table', async () => {
    const file = await filepath(
      `SELECT pg_relation_filepath(reltoastrelid) AS file FROM pg_class WHERE oid = 'shop.docs'::regclass`,
    );
    await s.restart(() => renameSync(file, `${file}.gone`));
    const [{ n }] = await open().query<{ n: string }>('SELECT count(*) AS n FROM shop.docs');
    expect(Number(n)).toBe(300);
    const [docs] = await readAllRows(open(RESTORE_READ_SETTINGS), [TABLES[1]], { concurrency: 1 });
    expect(docs.rows).toBeNaN();
    expect(docs.error).toMatch(
      /^TOAST table pg_toast\.pg_toast_\d+ unreadable: could not open file ".*": No such file/,
    );
  });
});

describe.each([13, 18])('on PostgreSQL %i', (major) => {
  let s: PgServer;
  let db: ReadOnlyDb;
  beforeAll(async () => {
    s = await startPgServer({}, { major });
    await s.createDatabase('app');
    const admin = await s.admin('app');
    await admin.query(fixture('public', 20000, 50));
    await admin.query('VACUUM (ANALYZE)');
    const [{ v }] = (await admin.query<{ v: number }>(`SELECT current_setting('server_version_num')::int / 10000 AS v`))
      .rows;
    expect(v).toBe(major);
    db = new ReadOnlyDb(
      { host: s.host, port: s.port, user: 'postgres', password: '', database: 'app' },
      { statementTimeoutMs: 30_000, poolSize: 2, settings: RESTORE_READ_SETTINGS },
    );
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await s?.stop();
    if (s) expect(serverGone(s.dir)).toBe(true);
  });

  it('reads every table and TOAST table with sequential scans only', async () => {
    const plans = await explainRead(db, tablesOf('public'));
    expect(plans.flatMap((p) => p.relations)).toHaveLength(4);
    for (const p of plans) expect(p.nodes.join(' > ')).not.toMatch(NOT_A_FULL_READ);
    const counts = await readAllRows(db, tablesOf('public'), { concurrency: 2 });
    expect(counts.map((c) => [c.table, c.rows, c.error])).toEqual([
      ['ledger', 20000, undefined],
      ['docs', 50, undefined],
    ]);
  });

  it(`verify amcheck: ${major === 13 ? 'degrades to the B-tree checks and the heap read, with a note' : 'verify_heapam and the B-tree checks'}`, async () => {
    const conn = { host: s.host, port: s.port, user: 'postgres', password: '', database: 'app' };
    const amcheck = await installAmcheck(conn, 30_000);
    expect(amcheck.heap).toBe(major >= 14);
    const v = await verifyRestore(db, 'app', amcheck, { mode: 'amcheck', concurrency: 2 });
    const checked = v.relations.map((r) => `${r.kind} ${r.name} ${r.check}`);
    const indexes = ['index docs_pkey bt_index_parent_check', 'index ledger_pkey bt_index_parent_check'];
    if (major === 13) {
      expect(checked).toEqual(indexes);
      expect(v.note).toBe(
        `amcheck ${amcheck.version} has no verify_heapam (PostgreSQL 14 or later): B-tree indexes checked with bt_index_check / bt_index_parent_check; every heap page read by the full read, so tuple-level heap and TOAST damage is not checked`,
      );
    } else {
      expect(checked).toEqual(['table docs verify_heapam', 'table ledger verify_heapam', ...indexes]);
      expect(v.note).toBeUndefined();
    }
    expect(verificationReasons(v)).toEqual([]);
    const heap = await verifyRestore(db, 'app', amcheck, { mode: 'heap', concurrency: 2 });
    expect(heap.relations).toHaveLength(major === 13 ? 0 : 2);
    if (major === 13) expect(heap.note).toMatch(/no heap check ran beyond the full read/);
  });
});
