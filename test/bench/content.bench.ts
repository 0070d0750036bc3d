// compare: content on one real Postgres with BENCH_TABLES tables (default 1,000) holding
// BENCH_ROWS rows (default 10 million, Zipf-skewed as in compare.bench.ts), in one run:
//   (a) the floor: ONE statement scanning every table (a Parallel Append of parallel scans) with
//       the restore's parallel settings, JIT off, before and after the digests, the faster kept;
//   (b) a parallel scan of live: the same statement under the server's default settings;
//   (c) the live side: takeLiveContent (every table digested, sequences, large objects) through a
//       pool of BENCH_CONCURRENCY sessions with default settings, / (b) (target <= 3);
//   (d) the restore side: compareContent on a pool with the restore's settings, / (a) (target <= 3);
//   (e) what a whole-row text digest (PostgreSQL 13's, and every version's before content-row.ts)
//       cannot go below: the floor's statement forming every row's text (t::text), unhashed, / (a);
//   and the plans (digest and floor) under both settings.
import { compareContent } from '../../actions/lib/drill/content-compare.js';
import { takeLiveContent } from '../../actions/lib/drill/content-live.js';
import { inTextSettings, planDigest, readsEveryPage } from '../../actions/lib/postgres/content-digest.js';
import { rowForms, rowHashSql } from '../../actions/lib/postgres/content-row.js';
import { RESTORE_READ_SETTINGS } from '../../actions/lib/postgres/full-read.js';
import { quoteIdent } from '../../actions/lib/postgres/ident.js';
import { ReadOnlyDb, type ReadOnlyOptions } from '../../actions/lib/postgres/readonly.js';
import { snapshotSchema, userTables } from '../../actions/lib/postgres/schema.js';
import { startPgServer } from '../postgres/pg-server.js';
import { zipfSizes } from './compare.bench.js';
import { envInt } from './env.js';

const NO_JIT = `SELECT set_config('jit', 'off', true)`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Tables c0001.. built server-side from the sizes array, each with a primary key, then analyzed. */
const LOAD = `DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT n, i FROM unnest(string_to_array(current_setting('bench.sizes'), ',')::int[]) WITH ORDINALITY AS s(n, i)
  LOOP
    EXECUTE format('CREATE TABLE c%s AS SELECT g::bigint AS id, g %% 5000 AS customer, %L || g AS note,
                    timestamptz %L + g * interval %L AS at FROM generate_series(1, %s) g',
                   lpad(r.i::text, 4, '0'), 'order note ', '2026-01-01', '1 second', r.n);
    EXECUTE format('ALTER TABLE c%s ADD PRIMARY KEY (id)', lpad(r.i::text, 4, '0'));
  END LOOP; END $$`;

export async function benchContent(log: (line: string) => void): Promise<Record<string, number>> {
  const tableCount = envInt('BENCH_TABLES', 1000);
  const totalRows = envInt('BENCH_ROWS', 10_000_000);
  const concurrency = envInt('BENCH_CONCURRENCY', 4);
  const server = await startPgServer({ synchronous_commit: 'off', shared_buffers: '256MB', max_wal_size: '4GB' });
  try {
    await server.createDatabase('bench');
    const t0 = performance.now();
    const setup = await server.admin('bench');
    await setup.query(`SELECT set_config('bench.sizes', $1, false)`, [zipfSizes(tableCount, totalRows).join(',')]);
    await setup.query(LOAD);
    await setup.query('VACUUM ANALYZE');
    log(`data: ${tableCount} tables, ${totalRows} rows, loaded in ${seconds(performance.now() - t0)}`);
    const conn = { host: server.host, port: server.port, user: 'postgres', password: '', database: 'bench' };
    return await measure(conn, concurrency, totalRows, log);
  } finally {
    await server.stop();
  }
}

async function measure(
  conn: ConstructorParameters<typeof ReadOnlyDb>[0],
  concurrency: number,
  totalRows: number,
  log: (line: string) => void,
): Promise<Record<string, number>> {
  const pool = (o: Partial<ReadOnlyOptions>) =>
    new ReadOnlyDb(conn, { statementTimeoutMs: 600_000, poolSize: concurrency, ...o });
  const live = pool({});
  const restore = pool({ settings: RESTORE_READ_SETTINGS });
  try {
    const schema = await snapshotSchema(live);
    const tables = userTables(schema);
    const union = (row: string) =>
      tables.map((t) => `SELECT ${row} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} t`).join(' UNION ALL ');
    const floorSql = `SELECT count(*) AS n FROM (${union('')}) s`;
    // JIT off for these one-statement scans: with JIT a 1,000-arm statement spent 1.7 s (summed over its
    // processes) compiling 5,012 functions, which inflated the floor; the digests' statements stay
    // below jit_above_cost and compile nothing.
    const scan = async (db: ReadOnlyDb, sql = floorSql, opening = NO_JIT) => {
      const started = performance.now();
      const [{ n }] = await db.transaction((q) => q<{ n: string }>(sql), 'READ COMMITTED', opening);
      if (Number(n) !== totalRows) throw new Error(`scan counted ${n} rows, expected ${totalRows}`);
      return performance.now() - started;
    };
    await scan(restore); // warm the cache once
    const floor1 = await scan(restore);
    const liveScan1 = await scan(live);
    const settings = { content: true, maxBytes: 2 ** 40, concurrency, statementTimeoutMs: 600_000, checks: [] };
    let started = performance.now();
    const lc = await takeLiveContent(live, 'bench', schema, { ...settings, log });
    const liveMs = performance.now() - started;
    started = performance.now();
    const { comparison, counts } = await compareContent(restore, 'bench', lc, {
      concurrency,
      judged: true,
      sensitive: [],
    });
    const restoreMs = performance.now() - started;
    const floorMs = Math.min(floor1, await scan(restore));
    const liveScanMs = Math.min(liveScan1, await scan(live));
    const rows = counts.reduce((n, c) => n + c.rows, 0);
    if (comparison.same !== tables.length || rows !== totalRows)
      throw new Error(`digests: ${comparison.same}/${tables.length} same, ${rows} rows (expected ${totalRows})`);
    const floorJitMs = await scan(restore, floorSql, 'SELECT 1');
    const textSql = `SELECT count(r) AS n FROM (${union('t::text AS r')}) s`;
    const textMs = Math.min(await scan(restore, textSql), await scan(restore, textSql));
    const largest = tables.find((t) => t.name === 'c0001')!;
    const [form] = await inTextSettings(restore, (q) => rowForms(q, [largest]));
    log(`row digest (content-row.ts): ${rowHashSql(form)}`);
    const shape = (plan: string[]) => plan.map((l) => l.trim()).join(' / ');
    for (const [side, db] of [
      ['live', live],
      ['restore', restore],
    ] as const) {
      const plan = await planDigest(db, largest);
      log(`plan (${side} digest, c0001): ${shape(plan)}; every heap page read: ${readsEveryPage(plan)}`);
      const floor = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${floorSql}`)).map(
        (r) => r['QUERY PLAN'],
      );
      log(`plan (${side} floor): ${shape(floor.slice(0, 6))} / ... (${floor.length} plan lines)`);
    }
    log(`(a) floor, one parallel scan of all tables (restore settings): ${seconds(floorMs)}`);
    log(`(a') the same with JIT (the measure before): ${seconds(floorJitMs)}; (d) = ${r2(restoreMs / floorJitMs)}x it`);
    log(`(b) a parallel scan of live (default settings): ${seconds(liveScanMs)}`);
    log(`(c) live-side digest: ${seconds(liveMs)} = ${(liveMs / liveScanMs).toFixed(2)}x (b) (target <= 3)`);
    log(`(d) restore-side digest: ${seconds(restoreMs)} = ${(restoreMs / floorMs).toFixed(2)}x (a) (target <= 3)`);
    log(`(e) the floor forming every row's text form: ${seconds(textMs)} = ${(textMs / floorMs).toFixed(2)}x (a)`);
    return {
      floor_ms: Math.round(floorMs),
      live_scan_ms: Math.round(liveScanMs),
      live_digest_ms: Math.round(liveMs),
      restore_digest_ms: Math.round(restoreMs),
      ratio_live_digest_over_live_scan: r2(liveMs / liveScanMs),
      ratio_restore_digest_over_floor: r2(restoreMs / floorMs),
      floor_with_jit_ms: Math.round(floorJitMs),
      text_form_scan_ms: Math.round(textMs),
      ratio_text_form_scan_over_floor: r2(textMs / floorMs),
    };
  } finally {
    await live.close();
    await restore.close();
  }
}
