// Reading a restore in full and verifying it with amcheck, against real PostgreSQL 15 servers
// whose relation files are damaged while they are down: what the catalog still claims
// (reltuples) versus what the files hold, each damage named by relation.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllRows, RESTORE_READ_SETTINGS } from '../../actions/lib/postgres/full-read.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { installAmcheck, verificationReasons, verifyRestore } from '../../actions/lib/postgres/verify.js';
import { breakTupleHeader, swapItems, zeroPages } from '../helpers/pages.js';
import { serverGone, startPgServer, type PgServer } from './pg-server.js';

const FIXTURE = `
CREATE SCHEMA shop;
CREATE TABLE shop.ledger (id int PRIMARY KEY, note text);
INSERT INTO shop.ledger SELECT g, 'entry ' || g FROM generate_series(1, 20000) g;
CREATE TABLE shop."Order Lines" (id int PRIMARY KEY, qty int);
INSERT INTO shop."Order Lines" SELECT g, g % 7 FROM generate_series(1, 5000) g;
CREATE INDEX order_lines_qty ON shop."Order Lines" (qty);
CREATE TABLE shop.tiny (id int);
INSERT INTO shop.tiny VALUES (1), (2), (3);
`;

const servers: PgServer[] = [];
const dbs: ReadOnlyDb[] = [];

async function server(dataChecksums: boolean): Promise<PgServer> {
  const s = await startPgServer({}, { dataChecksums });
  servers.push(s);
  await s.createDatabase('app');
  const admin = await s.admin('app');
  await admin.query(FIXTURE);
  await admin.query('VACUUM (FREEZE, ANALYZE)');
  return s;
}

function open(s: PgServer, deadline?: number): ReadOnlyDb {
  const db = new ReadOnlyDb(
    { host: s.host, port: s.port, user: 'postgres', password: '', database: 'app' },
    { statementTimeoutMs: 30_000, poolSize: 3, settings: RESTORE_READ_SETTINGS, deadline },
  );
  dbs.push(db);
  return db;
}

/** Stops the server, edits the relation's main fork file, starts it again. */
async function damage(s: PgServer, relation: string, edit: (buf: Buffer) => void): Promise<void> {
  const [{ file }] = (
    await (
      await s.admin('app')
    ).query<{ file: string }>('SELECT pg_relation_filepath($1::regclass) AS file', [relation])
  ).rows;
  await s.restart(() => {
    const p = path.join(s.dataDir, file);
    const buf = readFileSync(p);
    edit(buf);
    writeFileSync(p, buf);
  });
}

const conn = (s: PgServer) => ({ host: s.host, port: s.port, user: 'postgres', password: '', database: 'app' });
const TABLES = [
  { schema: 'shop', name: 'ledger' },
  { schema: 'shop', name: 'Order Lines' },
  { schema: 'shop', name: 'tiny' },
];

let plain: PgServer;
let checked: PgServer;

beforeAll(async () => {
  [plain, checked] = await Promise.all([server(false), server(true)]);
});

afterAll(async () => {
  await Promise.all(dbs.map((db) => db.close().catch(() => {})));
  for (const s of servers) {
    await s.stop();
    expect(serverGone(s.dir)).toBe(true);
  }
});

describe('a healthy restore', () => {
  it('is read in full, every relation verified, checksums reported', async () => {
    const lines: string[] = [];
    const counts = await readAllRows(open(plain), TABLES, {
      concurrency: 2,
      label: 'restore app: read',
      log: (l) => lines.push(l),
    });
    expect(counts.map((c) => [c.table, c.rows, c.method, c.source])).toEqual([
      ['ledger', 20000, 'exact', 'count'],
      ['Order Lines', 5000, 'exact', 'count'],
      ['tiny', 3, 'exact', 'count'],
    ]);
    expect(lines.at(-1)).toMatch(/^restore app: read 3\/3 tables, .* in \d+ s$/);

    const amcheck = await installAmcheck(conn(plain), 30_000);
    expect(amcheck.version).toMatch(/^1\.\d+$/);
    const v = await verifyRestore(open(plain), 'app', amcheck, { mode: 'amcheck', concurrency: 2 });
    expect(v.relations.map((r) => `${r.kind} ${r.schema}.${r.name} ${r.check}`)).toEqual([
      'table shop.Order Lines verify_heapam',
      'table shop.ledger verify_heapam',
      'table shop.tiny verify_heapam',
      'index shop.Order Lines_pkey bt_index_parent_check',
      'index shop.ledger_pkey bt_index_parent_check',
      'index shop.order_lines_qty bt_index_parent_check',
    ]);
    expect(v.relations.every((r) => !r.corruption.length && r.error === undefined)).toBe(true);
    expect(v.checksums).toEqual({ enabled: false, failures: null });
    expect(verificationReasons(v)).toEqual([]);
    // Installing twice is a no-op; above the size limit an index gets the lighter check.
    await installAmcheck(conn(plain), 30_000);
    const light = await verifyRestore(open(plain), 'app', amcheck, {
      mode: 'amcheck',
      concurrency: 1,
      parentCheckMaxBytes: 8192 * 3,
    });
    expect(light.relations.find((r) => r.name === 'ledger_pkey')?.check).toBe('bt_index_check');
    const heapOnly = await verifyRestore(open(plain), 'app', amcheck, { mode: 'heap', concurrency: 1 });
    expect(heapOnly.relations.every((r) => r.kind === 'table')).toBe(true);
  });

  it('small tables share a statement; one that cannot be read fails alone, named', async () => {
    const admin = await plain.admin('app');
    await admin.query(
      'CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA shop TO reader; GRANT SELECT ON shop.ledger, shop.tiny TO reader',
    );
    const db = new ReadOnlyDb({ ...conn(plain), user: 'reader' }, { statementTimeoutMs: 30_000, poolSize: 1 });
    dbs.push(db);
    const counts = await readAllRows(db, TABLES, { concurrency: 1 });
    // ledger's heap is readable, its TOAST table (pg_toast, superuser only) is not: the read says so.
    expect(counts.map((c) => [c.table, c.rows, c.error])).toEqual([
      [
        'ledger',
        Number.NaN,
        expect.stringMatching(/^TOAST table pg_toast\.pg_toast_\d+ unreadable: permission denied/),
      ],
      ['Order Lines', Number.NaN, 'permission denied for table Order Lines'],
      ['tiny', 3, undefined],
    ]);
  });

  it('stops starting tables at the deadline and says so per table', async () => {
    const counts = await readAllRows(open(plain), TABLES, { concurrency: 1, deadline: Date.now() - 1 });
    expect(counts.every((c) => Number.isNaN(c.rows) && /deadline/.test(c.error ?? ''))).toBe(true);
  });
});

describe('damage the catalog cannot show', () => {
  it('zeroed pages: the statistics still say 20000 rows, the full read finds what is left', async () => {
    await damage(plain, 'shop.ledger', (buf) => zeroPages(buf, 10));
    const admin = await plain.admin('app');
    const [{ reltuples }] = (
      await admin.query<{ reltuples: number }>("SELECT reltuples FROM pg_class WHERE oid = 'shop.ledger'::regclass")
    ).rows;
    expect(reltuples).toBe(20000);
    const [ledger] = await readAllRows(open(plain), [TABLES[0]], { concurrency: 1 });
    expect(ledger.rows).toBeGreaterThan(0);
    expect(ledger.rows).toBeLessThan(20000 / 2);
  });

  it('a broken tuple header: verify_heapam names the table, block and offset', async () => {
    await damage(plain, 'shop.tiny', (buf) => breakTupleHeader(buf, 0, 2));
    const amcheck = await installAmcheck(conn(plain), 30_000);
    const v = await verifyRestore(open(plain), 'app', amcheck, { mode: 'heap', concurrency: 2 });
    const tiny = v.relations.find((r) => r.name === 'tiny')!;
    expect(tiny.corruption.join('\n')).toMatch(
      /^block 0, offset 2: .*tuple data should begin at byte \d+, but actually begins at byte \d+/m,
    );
    expect(verificationReasons(v)[0]).toMatch(
      /^database app: amcheck found corruption in 1 relation\(s\): table shop\.tiny \(verify_heapam: block 0, offset 2: /,
    );
  });

  it('index items out of order: bt_index_check names the index', async () => {
    await damage(plain, 'shop.order_lines_qty', (buf) => swapItems(buf, 1, 2, 3));
    const amcheck = await installAmcheck(conn(plain), 30_000);
    for (const parentCheckMaxBytes of [0, 1024 ** 3]) {
      const v = await verifyRestore(open(plain), 'app', amcheck, {
        mode: 'amcheck',
        concurrency: 2,
        parentCheckMaxBytes,
      });
      const idx = v.relations.find((r) => r.name === 'order_lines_qty')!;
      expect(idx.corruption.join('\n'), idx.check).toMatch(/order_lines_qty/);
      expect(verificationReasons(v).join('\n')).toMatch(/index shop\.order_lines_qty \(bt_index(_parent)?_check: /);
    }
  });

  it('with data checksums: a damaged page fails its checksum, counted and named', async () => {
    await damage(checked, 'shop.tiny', (buf) => breakTupleHeader(buf, 0, 2));
    const [tiny] = await readAllRows(open(checked), [TABLES[2]], { concurrency: 1 });
    expect(tiny.error).toMatch(/invalid page in block 0 of relation/);
    const amcheck = await installAmcheck(conn(checked), 30_000);
    const v = await verifyRestore(open(checked), 'app', amcheck, { mode: 'amcheck', concurrency: 2 });
    expect(v.checksums.enabled).toBe(true);
    expect(v.checksums.failures).toBeGreaterThanOrEqual(1);
    const reasons = verificationReasons(v).join('\n');
    expect(reasons).toMatch(/table shop\.tiny \(verify_heapam: .*invalid page in block 0/);
    expect(reasons).toMatch(
      /\d+ page checksum failure\(s\) in the restore \(pg_stat_database\.checksum_failures\), last at \d{4}-/,
    );
  });
});
