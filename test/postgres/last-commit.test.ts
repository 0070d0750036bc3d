// The bound of time targets (actions/lib/drill/last-commit.ts) on a real PostgreSQL with
// track_commit_timestamp on. The CI run of stop 28 met the race below: live idle at its last
// checkpoint, then a transaction that committed between the drill's idle test and its read of the
// last commit. That commit was not archived, the drill took its time as reachable, and a time
// target before it ended in "recovery ended before configured recovery target was reached",
// recorded as a failed restore. The race is forced here: the commit lands just before that read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { lastArchivedCommit } from '../../actions/lib/drill/last-commit.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { stopAndCheck, startPgServer, type PgServer } from './pg-server.js';

let server: PgServer;
let admin: pg.Client;
const dbs: ReadOnlyDb[] = [];
// Every segment is taken as archived: the checkpoint's archiving is not what these cases are about.
const ARCHIVED = '00000001FFFFFFFF000000FF';

/** Live's sessions; `before(sql)` runs on another session just before a statement matching it. */
class Live extends ReadOnlyDb {
  constructor(private readonly before?: { match: string; run: () => Promise<unknown> }) {
    super(
      { host: server.host, port: server.port, user: 'postgres', password: '', database: 'app' },
      {
        statementTimeoutMs: 10_000,
        poolSize: 1,
      },
    );
    dbs.push(this);
  }
  override async query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]> {
    if (this.before && sql.includes(this.before.match)) await this.before.run();
    return super.query<T>(sql, params);
  }
}

/** One committed insert; its commit time. */
async function commit(): Promise<number> {
  await admin.query('INSERT INTO t VALUES (1)');
  const { rows } = await admin.query<{ at: Date }>(`SELECT (pg_last_committed_xact()).timestamp AS at`);
  return rows[0].at.getTime();
}

/** Live idle at a checkpoint taken after one more commit; that commit's time. */
async function idleAtCheckpoint(): Promise<number> {
  const at = await commit();
  await admin.query('CHECKPOINT');
  return at;
}

beforeAll(async () => {
  server = await startPgServer({ track_commit_timestamp: 'on' });
  await server.createDatabase('app');
  admin = await server.admin('app');
  await admin.query('CREATE TABLE t (v int)');
}, 60_000);

afterAll(async () => expect(await stopAndCheck(server, dbs)).toBe(true));

describe('the last archived commit', () => {
  it('idle since the last checkpoint: its last commit', async () => {
    const last = await idleAtCheckpoint();
    const { bound } = await lastArchivedCommit(new Live(), ARCHIVED);
    expect(bound).toMatchObject({ commitAt: true });
    expect(Date.parse(bound!.at)).toBe(last);
  });

  it('a commit after the idle test, before the last-commit read: not taken as archived', async () => {
    const last = await idleAtCheckpoint();
    let late = 0;
    const live = new Live({ match: 'pg_last_committed_xact', run: async () => (late = await commit()) });
    const { bound } = await lastArchivedCommit(live, ARCHIVED);
    expect(late).toBeGreaterThan(last);
    expect(Date.parse(bound!.at)).toBe(last);
    expect(bound!.how).toMatch(/ended before live's last archived checkpoint/);
  });
});
