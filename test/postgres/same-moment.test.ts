// Counting live at one moment on a real server (same-moment.ts countAtOneMoment): a snapshot taken
// at the very start of a WAL segment is retaken, and the moment says whether any transaction wrote in
// that segment since, which decides whether the pin waits for archive_timeout (waitBudget). The CI case:
// a live that wrote, then stopped just after a switch; the retake landed after a record no transaction
// wrote and the pin waited 15 s for a switch that archive_timeout never makes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { countAtOneMoment } from '../../actions/lib/drill/same-moment.js';
import type { Session } from '../../actions/lib/drill/sessions.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

let server: PgServer;
let admin: pg.Client;
const dbs: ReadOnlyDb[] = [];

beforeAll(async () => {
  server = await startPgServer();
  admin = await server.admin('postgres');
  await admin.query('CREATE TABLE t (id int)');
}, 120_000);

afterAll(async () => expect(await stopAndCheck(server, dbs)).toBe(true));

function session(): Session {
  const conn = { host: server.host, port: server.port, user: server.user, password: '', database: 'postgres' };
  const db = new ReadOnlyDb(conn, { statementTimeoutMs: 10_000, poolSize: 1 });
  dbs.push(db);
  return { database: 'postgres', db } as Session;
}

/** Live wrote since its checkpoint (not provably quiet), then switched: the insert position is at a segment's start. */
async function wroteThenSwitched(): Promise<void> {
  await admin.query('CHECKPOINT');
  await admin.query('INSERT INTO t VALUES (1)');
  await admin.query('SELECT pg_switch_wal()');
}

const count = (db: ReadOnlyDb) => db.query<{ n: string }>('SELECT count(*) AS n FROM t').then((r) => Number(r[0].n));
const opts = { statementTimeoutMs: 10_000, applicationName: 'same-moment-test' };
const offset = (lsn: string) => parseInt(lsn.split('/')[1], 16) % (16 * 1024 * 1024);

describe('a snapshot at the start of a WAL segment', () => {
  // A restore point stands in for the running-transactions record a stopped live logs (PostgreSQL 15 has no
  // pg_log_standby_snapshot): both are written with no xid. Unlike that record, archive_timeout would switch a
  // restore point's segment; the pin accepts falling back to the tolerance there (same-moment.ts waitBudget).
  it('retaken; a record no transaction wrote moves it on and the moment says the segment is unwritten', async () => {
    await wroteThenSwitched();
    const later = new Promise((r) => setTimeout(r, 300)).then(() =>
      admin.query(`SELECT pg_create_restore_point('same-moment-test')`),
    );
    const [{ moment, results }] = await Promise.all([countAtOneMoment([session()], opts, count), later]);
    expect(moment.quiet.ok).toBe(false);
    expect(moment.tries).toBeGreaterThan(1);
    expect(offset(moment.lsn)).toBeGreaterThan(40);
    expect(moment.unwrittenSince).toMatch(/^\d+$/);
    expect(results).toEqual([await count(dbs[0])]);
  });

  it('retaken; a transaction’s write moves it on: the segment is written, so the pin may wait for archive_timeout', async () => {
    await wroteThenSwitched();
    const later = new Promise((r) => setTimeout(r, 300)).then(() => admin.query('INSERT INTO t VALUES (2)'));
    const [{ moment }] = await Promise.all([countAtOneMoment([session()], opts, count), later]);
    expect(offset(moment.lsn)).toBeGreaterThan(40);
    expect(moment.unwrittenSince).toBeUndefined();
  });

  it('a transaction holding an xid across the switch commits in the segment: not unwritten (no new xid, yet a commit)', async () => {
    const tx = await server.admin('postgres');
    await admin.query('CHECKPOINT');
    await tx.query('BEGIN');
    await tx.query('INSERT INTO t VALUES (3)');
    await admin.query('SELECT pg_switch_wal()');
    const later = new Promise((r) => setTimeout(r, 300)).then(() => tx.query('COMMIT'));
    const [{ moment }] = await Promise.all([countAtOneMoment([session()], opts, count), later]);
    expect(moment.exact).toBe(true);
    expect(offset(moment.lsn)).toBeGreaterThan(40);
    expect(moment.unwrittenSince).toBeUndefined();
  });

  it('a quiet live (proven from its checkpoint) is not retaken and its moment claims nothing of the segment', async () => {
    await admin.query('CHECKPOINT');
    await admin.query('SELECT pg_switch_wal()');
    const { moment } = await countAtOneMoment([session()], opts, count);
    expect(moment.quiet.ok).toBe(true);
    expect(moment.tries).toBe(1);
    expect(moment.unwrittenSince).toBeUndefined();
  });

  it('nothing written at all: retaken for about a second, then kept at the segment’s start', async () => {
    await wroteThenSwitched();
    const started = Date.now();
    const { moment } = await countAtOneMoment([session()], opts, count);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The background writer may log running transactions meanwhile (no xid: the segment stays unwritten).
    if (offset(moment.lsn) <= 40) expect(moment.tries).toBe(8);
    else expect(moment.unwrittenSince).toMatch(/^\d+$/);
  });
});
