// The restore's read and verification on the majors around the distribution's: PostgreSQL 13
// (amcheck 1.2, no verify_heapam: verify degrades to the B-tree checks and the full read, with a
// note) and 18, real servers from scripts/setup.sh. The full read's plan is sequential on both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  explainRead,
  NOT_A_FULL_READ,
  readAllRows,
  RESTORE_READ_SETTINGS,
} from '../../actions/lib/postgres/full-read.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { installAmcheck, verificationReasons, verifyRestore } from '../../actions/lib/postgres/verify.js';
import { serverGone, startPgServer, type PgServer } from './pg-server.js';

const FIXTURE = `
CREATE TABLE public.ledger (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO public.ledger SELECT g, repeat('x', 200) || g FROM generate_series(1, 20000) g;
CREATE TABLE public.docs (id int PRIMARY KEY, body text NOT NULL);
ALTER TABLE public.docs ALTER body SET STORAGE EXTERNAL;
INSERT INTO public.docs SELECT g, repeat(md5(g::text), 100) FROM generate_series(1, 50) g;
`;
const TABLES = [
  { schema: 'public', name: 'ledger' },
  { schema: 'public', name: 'docs' },
];

describe.each([13, 18])('PostgreSQL %i', (major) => {
  let s: PgServer;
  let db: ReadOnlyDb;
  beforeAll(async () => {
    s = await startPgServer({}, { major });
    await s.createDatabase('app');
    const admin = await s.admin('app');
    await admin.query(FIXTURE);
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
    const plans = await explainRead(db, TABLES);
    expect(plans.flatMap((p) => p.relations)).toHaveLength(4);
    for (const p of plans) expect(p.nodes.join(' > ')).not.toMatch(NOT_A_FULL_READ);
    const counts = await readAllRows(db, TABLES, { concurrency: 2 });
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
