// The row form of compare: content's digest (actions/lib/postgres/content-row.ts) on a real
// PostgreSQL: which columns are hashed from their stored value, which by their send form and which
// by their text; that every column counts, NULL included, chained (NOT NULL) or not; and, for each
// type sent rather than hashed, two values its own hash function takes for one (the reason it is
// sent), told apart by the row digest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestTables, inTextSettings } from '../../actions/lib/postgres/content-digest.js';
import { HASHED, IN_RECORD, ROW, rowForms, rowHashSql, SENT } from '../../actions/lib/postgres/content-row.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

let server: PgServer;
let db: ReadOnlyDb;

// Two stored values per type that the type's own extended hash takes for one (character: as the
// unconstrained bpchar, since char(1) would store both as 'a').
const ALIKE: Record<string, [string, string]> = {
  bigint: ['0', '4294967297'],
  'timestamp without time zone': ['2000-01-01 00:00:00', '2000-01-01 01:11:34.967297'],
  'timestamp with time zone': ['2000-01-01 00:00:00+00', '2000-01-01 01:11:34.967297+00'],
  'time without time zone': ['00:00:00', '01:11:34.967297'],
  'time with time zone': ['00:00:00+00', '01:11:34.967297+00'],
  numeric: ['1.0', '1.00'],
  real: ['0', '-0'],
  'double precision': ['0', '-0'],
  interval: ['1 day', '24 hours'],
  character: ['a', 'a  '],
};
const slug = (type: string) => type.replace(/\W+/g, '_');

const SETUP = `
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN big AS bigint;
CREATE TYPE pair AS (a int, b text);
CREATE TABLE every (id int, flag boolean, ch "char", s smallint, o oid, d date, t text, v varchar(9), b bytea,
  u uuid, big big, n numeric(9,3), f float8, ts timestamptz, iv interval, arr int[], j jsonb, p pair, ci text COLLATE ci);
INSERT INTO every VALUES (1, true, 'x', 2, 3, '2026-01-01', 'text', 'varchar', '\\x00', '00000000-0000-0000-0000-000000000001',
  5, 1.5, 2.5, '2026-01-01 00:00:00+00', '1 day', '{1}', '{"a": 1}', '(1,a)', 'a');
CREATE SCHEMA live; CREATE SCHEMA restored;
-- Other rows with the same values per column: swapped between rows, or bigints whose folded low
-- halves and high halves are the same multisets (6, 2^32 + 100 against 101, 2^32 + 7).
CREATE TABLE live.ints (id int, v int); INSERT INTO live.ints VALUES (1, 2), (2, 1002);
CREATE TABLE restored.ints (id int, v int); INSERT INTO restored.ints VALUES (1, 1002), (2, 2);
CREATE TABLE live.names (id int, name text); INSERT INTO live.names VALUES (1, 'alice'), (2, 'bob9');
CREATE TABLE restored.names (id int, name text); INSERT INTO restored.names VALUES (1, 'bob9'), (2, 'alice');
CREATE TABLE live.big (x bigint); INSERT INTO live.big VALUES (6), (4294967396);
CREATE TABLE restored.big (x bigint); INSERT INTO restored.big VALUES (101), (4294967303);
-- The same, NOT NULL (their hashes chained); a nullable column swapped between rows whose NOT NULL
-- column is the same; two columns of one type swapping values within each row.
CREATE TABLE live.ints_nn (id int NOT NULL, v int NOT NULL); INSERT INTO live.ints_nn SELECT * FROM live.ints;
CREATE TABLE restored.ints_nn (id int NOT NULL, v int NOT NULL);
INSERT INTO restored.ints_nn SELECT * FROM restored.ints;
CREATE TABLE live.names_nn (id int NOT NULL, name text NOT NULL); INSERT INTO live.names_nn SELECT * FROM live.names;
CREATE TABLE restored.names_nn (id int NOT NULL, name text NOT NULL);
INSERT INTO restored.names_nn SELECT * FROM restored.names;
CREATE TABLE live.big_nn (x bigint NOT NULL); INSERT INTO live.big_nn SELECT * FROM live.big;
CREATE TABLE restored.big_nn (x bigint NOT NULL); INSERT INTO restored.big_nn SELECT * FROM restored.big;
CREATE TABLE live.shared (k int NOT NULL, a int, b int); INSERT INTO live.shared VALUES (1, 1, 2), (1, 3, 4);
CREATE TABLE restored.shared (k int NOT NULL, a int, b int); INSERT INTO restored.shared VALUES (1, 3, 2), (1, 1, 4);
CREATE TABLE live.crossed (a int, b int); INSERT INTO live.crossed VALUES (1, 2), (3, 4);
CREATE TABLE restored.crossed (a int, b int); INSERT INTO restored.crossed VALUES (2, 1), (4, 3);
CREATE TABLE holes (k int, v text); INSERT INTO holes VALUES (1, NULL), (2, 'x'), (NULL, NULL);
-- Wider than the parser nests: every NOT NULL column's hash nested in the next one's seed.
CREATE TABLE wide (${[
  ...Array.from({ length: 900 }, (_, i) => `b${i} bigint NOT NULL DEFAULT 1`),
  ...Array.from({ length: 700 }, (_, i) => `f${i} boolean NOT NULL DEFAULT true`),
].join(', ')});
INSERT INTO wide DEFAULT VALUES; INSERT INTO wide (b0) VALUES (2); INSERT INTO wide (b899, f699) VALUES (2, false);
CREATE TABLE wide_holes (${Array.from({ length: 150 }, (_, i) => `c${i} int DEFAULT 1`).join(', ')});
INSERT INTO wide_holes DEFAULT VALUES; INSERT INTO wide_holes (c0) VALUES (NULL); INSERT INTO wide_holes (c140) VALUES (NULL);
CREATE TABLE folded (v text COLLATE ci);
INSERT INTO folded VALUES ('a'), ('A');
${Object.entries(ALIKE)
  .map(
    ([type, [a, b]]) =>
      `CREATE TABLE alike_${slug(type)} (v ${type === 'character' ? 'bpchar' : type}); INSERT INTO alike_${slug(type)} VALUES ('${a}'), ('${b}');`,
  )
  .join('\n')}
`;

// Another value per column of `every`: each copy of row 1 with one column changed.
const OTHER: Record<string, string> = {
  flag: 'false',
  ch: `'y'`,
  s: '3',
  o: '4',
  d: `'2026-01-02'`,
  t: `'texu'`,
  v: `'varchas'`,
  b: `'\\x01'`,
  u: `'00000000-0000-0000-0000-000000000002'`,
  big: '6',
  n: '1.501',
  f: '2.25',
  ts: `'2026-01-01 00:00:01+00'`,
  iv: `'2 days'`,
  arr: `'{2}'`,
  j: `'{"a": 2}'`,
  p: `'(1,b)'`,
  ci: `'A'`,
};

/** Each row's digest under the table's row form, in the text settings the digests use. */
function digests(table: string): Promise<string[]> {
  return inTextSettings(db, async (q) => {
    const [form] = await rowForms(q, [{ schema: 'public', name: table }]);
    const rows = await q<{ h: string }>(`SELECT ${rowHashSql(form)}::text AS h FROM public.${table} AS ${ROW}`);
    return rows.map((r) => r.h);
  });
}

beforeAll(async () => {
  server = await startPgServer();
  await server.createDatabase('rows');
  const admin = await server.admin('rows');
  await admin.query(SETUP);
  for (const [col, value] of Object.entries(OTHER)) {
    await admin.query(`INSERT INTO every SELECT * FROM every WHERE id = 1`);
    await admin.query(
      `UPDATE every SET id = (SELECT max(id) + 1 FROM every), ${col} = ${value} WHERE ctid = (SELECT max(ctid) FROM every)`,
    );
  }
  // The same rows with every column NOT NULL (chained), then NULL in each column of `every` in turn.
  await admin.query(`CREATE TABLE every_nn AS SELECT * FROM every`);
  await admin.query(
    `ALTER TABLE every_nn ${['id', ...Object.keys(OTHER)].map((c) => `ALTER ${c} SET NOT NULL`).join(', ')}`,
  );
  for (const col of Object.keys(OTHER))
    await admin.query(`INSERT INTO every SELECT * FROM every WHERE id = 1;
      UPDATE every SET id = (SELECT max(id) + 1 FROM every), ${col} = NULL WHERE ctid = (SELECT max(ctid) FROM every)`);
  db = new ReadOnlyDb(
    { host: server.host, port: server.port, user: 'postgres', password: '', database: 'rows' },
    { statementTimeoutMs: 10_000, poolSize: 1 },
  );
}, 120_000);

afterAll(async () => expect(await stopAndCheck(server, [db])).toBe(true));

describe('the row form', () => {
  it('hashed, sent or text per column type; a domain by its base type', async () => {
    const [form] = await inTextSettings(db, (q) => rowForms(q, [{ schema: 'public', name: 'every' }]));
    const type = Object.fromEntries(form!.map((c) => [c.name, c.type]));
    expect(type).toMatchObject({ id: 'integer', t: 'text', v: 'character varying', big: 'bigint', n: 'numeric' });
    expect(type).toMatchObject({ ts: 'timestamp with time zone', arr: null, j: null, p: null });
    const known = (t: string) => HASHED[t] || SENT[t] || IN_RECORD.includes(t);
    expect(form!.filter((c) => c.type !== null).every((c) => known(c.type!))).toBe(true);
    expect(rowHashSql(form)).toContain(`hashint8extended(${ROW}."big", hashint8extended(${ROW}."big" >> 32, `);
    expect(rowHashSql(form)).toContain(`encode(timestamptz_send(${ROW}."ts"), 'hex')`);
    expect(rowHashSql(form)).toContain(`hash_record_extended(ROW(${ROW}."b"), 0)`);
    expect(rowHashSql(form)).toContain(`ROW(${ROW}."arr", ${ROW}."j", ${ROW}."p")::text COLLATE "C"`);
  });

  it('every column counts: a row changed in any one column, or NULL in it, has another digest', async () => {
    const all = await digests('every');
    expect(all).toHaveLength(2 * Object.keys(OTHER).length + 1);
    expect(new Set(all).size).toBe(all.length);
  });

  it('every column counts, NOT NULL: the same rows, their hashes chained', async () => {
    const [form] = await inTextSettings(db, (q) => rowForms(q, [{ schema: 'public', name: 'every_nn' }]));
    expect(form!.every((c) => c.notNull)).toBe(true);
    expect(rowHashSql(form)).toMatch(/^coalesce\(/);
    const all = await digests('every_nn');
    expect(all).toHaveLength(Object.keys(OTHER).length + 1);
    expect(new Set(all).size).toBe(all.length);
  });

  // A NOT NULL column can hold NULL (a NOT VALID constraint on 18): the chain is NULL there, which sum()
  // would skip; such a row takes the form with every column nullable. Simulated with a form that says NOT NULL.
  it('a NOT NULL column holding NULL: the row still has a digest, its own', async () => {
    const [form] = await inTextSettings(db, (q) => rowForms(q, [{ schema: 'public', name: 'holes' }]));
    const said = form!.map((c) => ({ ...c, notNull: true }));
    const rows = await inTextSettings(db, (q) =>
      q<{ h: string | null }>(`SELECT ${rowHashSql(said)}::text AS h FROM public.holes AS ${ROW}`),
    );
    const all = rows.map((r) => r.h);
    expect(all.every((h) => h !== null)).toBe(true);
    expect(new Set(all).size).toBe(3);
  });

  // Found by review: one chain nested 2500 calls deep (a bigint is two), and the parser's stack ran out
  // ("memory exhausted"): the digest failed on every wide table of NOT NULL columns.
  it('a wide table of NOT NULL columns has a digest per row, every column counting', async () => {
    const all = await digests('wide');
    expect(all).toHaveLength(3);
    expect(new Set(all).size).toBe(3);
  });

  it('a wide table: a NOT NULL column holding NULL in any of its chains keeps the row, with its own digest', async () => {
    const [form] = await inTextSettings(db, (q) => rowForms(q, [{ schema: 'public', name: 'wide_holes' }]));
    const said = form!.map((c) => ({ ...c, notNull: true }));
    const rows = await inTextSettings(db, (q) =>
      q<{ h: string | null }>(`SELECT ${rowHashSql(said)}::text AS h FROM public.wide_holes AS ${ROW}`),
    );
    expect(rows.every((r) => r.h !== null)).toBe(true);
    expect(new Set(rows.map((r) => r.h)).size).toBe(3);
  });

  it('a nondeterministic collation does not fold: "a" and "A" differ', async () => {
    const [a, b] = await digests('folded');
    expect(a).not.toBe(b);
  });

  it.each(Object.keys(ALIKE))('%s is sent: two values its own hash takes for one have two digests', async (type) => {
    const table = `alike_${slug(type)}`;
    const native = await db.query<{ h: string }>(
      `SELECT hash_record_extended(ROW(v), 0)::text AS h FROM public.${table}`,
    );
    expect(native[0].h).toBe(native[1].h);
    const [form] = await inTextSettings(db, (q) => rowForms(q, [{ schema: 'public', name: table }]));
    expect(form).toEqual([{ name: 'v', type, collatable: type === 'character', notNull: false }]);
    expect(SENT[type]).toBeDefined();
    const [a, b] = await digests(table);
    expect(a).not.toBe(b);
  });

  // Found by review: hash_record_extended is linear in its fields' hashes, so without the final mix a table's
  // sum depended only on each column's values (equal sums about half the time, by the carries).
  it.each(['ints', 'names', 'big', 'ints_nn', 'names_nn', 'big_nn', 'shared', 'crossed'])(
    '%s: other rows with the same values per column have another digest',
    async (name) => {
      const [live, restored] = await digestTables(db, [
        { schema: 'live', name },
        { schema: 'restored', name },
      ]);
      expect(live.rows).toBe(restored.rows);
      expect(live.sum).not.toBe(restored.sum);
    },
  );
});

// The real case of the simulated one above: PostgreSQL 18 adds a NOT NULL constraint NOT VALID, with NULLs kept.
describe('on PostgreSQL 18, a NOT VALID NOT NULL column holding NULL', () => {
  let s18: PgServer;
  let db18: ReadOnlyDb;
  beforeAll(async () => {
    s18 = await startPgServer({}, { major: 18 });
    await s18.createDatabase('rows');
    const admin = await s18.admin('rows');
    await admin.query(`CREATE TABLE t (k int, v text); INSERT INTO t VALUES (1, NULL), (2, 'x');
      ALTER TABLE t ADD CONSTRAINT v_nn NOT NULL v NOT VALID, ADD CONSTRAINT k_nn NOT NULL k;
      CREATE TABLE u (k int, v text); INSERT INTO u VALUES (1, 'y'), (2, 'x');
      ALTER TABLE u ADD CONSTRAINT v_nn NOT NULL v NOT VALID, ADD CONSTRAINT k_nn NOT NULL k;`);
    db18 = new ReadOnlyDb(
      { host: s18.host, port: s18.port, user: 'postgres', password: '', database: 'rows' },
      { statementTimeoutMs: 10_000, poolSize: 1 },
    );
  }, 120_000);
  afterAll(async () => expect(await stopAndCheck(s18, [db18])).toBe(true));

  it('the row still counts: its digest is not lost from the sum', async () => {
    const [form] = await inTextSettings(db18, (q) => rowForms(q, [{ schema: 'public', name: 't' }]));
    expect(form!.map((c) => c.notNull)).toEqual([true, true]);
    const [t, u] = await digestTables(db18, [
      { schema: 'public', name: 't' },
      { schema: 'public', name: 'u' },
    ]);
    expect(t.rows).toBe(2);
    expect(t.sum).not.toBe(u.sum);
    const rows = await inTextSettings(db18, (q) =>
      q<{ h: string | null }>(`SELECT ${rowHashSql(form)}::text AS h FROM public.t AS ${ROW}`),
    );
    expect(rows.every((r) => r.h !== null)).toBe(true);
  });
});
