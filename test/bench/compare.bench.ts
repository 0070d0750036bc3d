// Compare phase (schema snapshot + every table's row count) on one real Postgres with
// BENCH_TABLES tables (default 1,000) holding BENCH_ROWS rows in total (default 10 million),
// timed three ways in one run:
//   (a) reference: one `psql -c "select count(*) ..."` process per table, in sequence (the shell drill),
//   (b) one parallel pass: snapshotSchema + countRows exact, concurrency BENCH_CONCURRENCY (4),
//   (c) snapshotSchema + countRows auto (exact below BENCH_AUTO_EXACT_MAX_BYTES) and estimate,
//   (d) the floor: ONE statement counting the rows of all tables (a Parallel Append over every
//       table's parallel scan), with the restore's parallel settings; measured before and after
//       (e) and the faster one kept,
//   (e) the restore's compare phase: snapshotSchema + readAllRows (every table and TOAST table,
//       count(*), sequential scans only, parallel, concurrency BENCH_CONCURRENCY), as a ratio to (d)
//       (target <= 1.5), with the plan shapes it ran (explainRead),
//   (f) verifying with amcheck (verify_heapam + B-tree checks) and heap only, as ratios to (d).
// Table sizes are Zipf-skewed like real databases: a few large tables, a long tail of small ones.
// The tables are VACUUMed (visibility map all-visible), so a plain count(*) of a large one is an
// index-only scan: (d) and (e) run with the restore's settings, which leave only sequential scans.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import {
  explainRead,
  NOT_A_FULL_READ,
  readAllRows,
  RESTORE_READ_SETTINGS,
} from '../../actions/lib/postgres/full-read.js';
import type { TableRef } from '../../actions/lib/postgres/schema.js';
import { quoteIdent } from '../../actions/lib/postgres/ident.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { installAmcheck, verifyRestore } from '../../actions/lib/postgres/verify.js';
import { countRows, type CountMode, type TableCount } from '../../actions/lib/postgres/rowcounts.js';
import { snapshotSchema, userTables } from '../../actions/lib/postgres/schema.js';
import { PG_BIN, startPgServer } from '../postgres/pg-server.js';
import { envInt } from './env.js';

const run = promisify(execFile);

/** Rows per table, Zipf (1/rank) weights, summing exactly to `total`. */
export function zipfSizes(tables: number, total: number): number[] {
  const weights = Array.from({ length: tables }, (_, i) => 1 / (i + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((total * w) / sum));
  let rest = total - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % tables, rest--) sizes[i]++;
  return sizes;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function benchCompare(log: (line: string) => void): Promise<Record<string, number>> {
  const tableCount = envInt('BENCH_TABLES', 1000);
  const totalRows = envInt('BENCH_ROWS', 10_000_000);
  const concurrency = envInt('BENCH_CONCURRENCY', 4);
  // 16 MiB puts the largest few tables of the default data set above the auto threshold.
  const autoExactMaxBytes = envInt('BENCH_AUTO_EXACT_MAX_BYTES', 16 * 1024 * 1024);
  const sizes = zipfSizes(tableCount, totalRows);
  const name = (i: number) => `t${String(i + 1).padStart(4, '0')}`;

  const server = await startPgServer({ synchronous_commit: 'off', shared_buffers: '256MB', max_wal_size: '4GB' });
  try {
    await server.createDatabase('bench');
    const loadStarted = performance.now();
    const setup = await server.admin('bench');
    await setup.query(`DO $$ BEGIN FOR i IN 1..${tableCount} LOOP
      EXECUTE format('CREATE TABLE t%s (id bigint NOT NULL, customer int NOT NULL, note text, at timestamptz NOT NULL DEFAULT now())', lpad(i::text, 4, '0'));
    END LOOP; END $$`);
    // Two loaders (two cores): bulk INSERT ... SELECT, then the primary key built once per table.
    const loaders = [setup, await server.admin('bench')];
    const free = [...loaders];
    const limit = pLimit(loaders.length);
    await Promise.all(
      sizes.map((rows, i) =>
        limit(async () => {
          const client = free.pop()!;
          try {
            await client.query(
              `INSERT INTO ${name(i)} (id, customer, note) SELECT g, g % 5000, 'order note ' || g FROM generate_series(1, ${rows}) g;
               ALTER TABLE ${name(i)} ADD PRIMARY KEY (id)`,
            );
          } finally {
            free.push(client);
          }
        }),
      ),
    );
    // Loaders' insert counts reach the statistics before ANALYZE sets n_live_tup (a flush after it would add them twice).
    for (const c of loaders) await c.query('SELECT pg_stat_force_next_flush()');
    // VACUUMed, as a user's database is: the visibility map is set, so a plain count(*) may answer
    // from an index alone; the restore's full read must still read every heap page.
    await setup.query('VACUUM (ANALYZE)');
    const loadMs = performance.now() - loadStarted;
    const [{ bytes }] = (await setup.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes'))
      .rows;
    log(
      `data: ${tableCount} tables, ${totalRows} rows (largest ${sizes[0]}, smallest ${sizes[tableCount - 1]}), ` +
        `${(Number(bytes) / 2 ** 20).toFixed(0)} MiB, loaded in ${seconds(loadMs)}`,
    );

    const conn = { host: server.host, port: server.port, user: 'postgres', password: '', database: 'bench' };
    const db = new ReadOnlyDb(conn, { statementTimeoutMs: 120_000, poolSize: concurrency });
    try {
      // Warm the caches once so no method pays for the first read from disk.
      await countRows(db, userTables(await snapshotSchema(db)), { mode: 'exact', concurrency });

      // (a) Reference: list the tables with one psql, then one psql per table, in sequence.
      const refStarted = performance.now();
      const psql = (sql: string) =>
        run(`${PG_BIN}/psql`, [
          '-X',
          '-At',
          '-h',
          conn.host,
          '-p',
          String(conn.port),
          '-U',
          conn.user,
          '-d',
          conn.database,
          '-c',
          sql,
        ]);
      const listed = (await psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).stdout
        .trim()
        .split('\n');
      let refTotal = 0;
      for (const table of listed)
        refTotal += Number((await psql(`SELECT count(*) FROM public."${table}"`)).stdout.trim());
      const referenceMs = performance.now() - refStarted;
      log(
        `(a) reference, ${listed.length + 1} psql processes in sequence: ${seconds(referenceMs)} (total ${refTotal} rows)`,
      );

      const pass = async (mode: CountMode) => {
        const started = performance.now();
        const snap = await snapshotSchema(db);
        const snapshotMs = performance.now() - started;
        const counts = await countRows(db, userTables(snap), { mode, concurrency, autoExactMaxBytes });
        return { ms: performance.now() - started, snapshotMs, counts };
      };
      const summary = (counts: TableCount[]) => {
        const exactTables = counts.filter((c) => c.method === 'exact').length;
        const errors = counts.filter((c) => c.error).length;
        const total = counts.reduce((a, c) => a + (Number.isFinite(c.rows) ? c.rows : 0), 0);
        const byName = new Map(sizes.map((rows, i) => [name(i), rows]));
        const maxError = Math.max(
          ...counts.map((c) => Math.abs(c.rows - byName.get(c.table)!) / Math.max(1, byName.get(c.table)!)),
        );
        return { exactTables, errors, total, maxError };
      };

      const parallel = await pass('exact');
      const p = summary(parallel.counts);
      log(
        `(b) snapshot + exact counts, concurrency ${concurrency}: ${seconds(parallel.ms)} ` +
          `(snapshot ${seconds(parallel.snapshotMs)}; total ${p.total} rows, ${p.errors} errors)`,
      );
      const auto = await pass('auto');
      const a = summary(auto.counts);
      log(
        `(c) snapshot + auto counts (exact below ${(autoExactMaxBytes / 2 ** 20).toFixed(0)} MiB): ${seconds(auto.ms)} ` +
          `(${a.exactTables} exact, ${tableCount - a.exactTables} estimated; max estimate error ${(a.maxError * 100).toFixed(2)} %)`,
      );
      const estimate = await pass('estimate');
      const e = summary(estimate.counts);
      log(
        `(c') snapshot + estimate counts: ${seconds(estimate.ms)} (max estimate error ${(e.maxError * 100).toFixed(2)} %)`,
      );

      if (refTotal !== totalRows || p.total !== totalRows || p.errors || a.errors || e.errors) {
        throw new Error(
          `counts disagree with the data: reference ${refTotal}, parallel ${p.total}, expected ${totalRows}`,
        );
      }
      const ratio = (x: number) => Math.round((referenceMs / x) * 10) / 10;
      log(
        `ratios: a/b = ${ratio(parallel.ms)}x, a/c(auto) = ${ratio(auto.ms)}x, a/c(estimate) = ${ratio(estimate.ms)}x`,
      );
      const restore = await benchRestoreRead(conn, concurrency, totalRows, log);
      return {
        ...restore,
        tables: tableCount,
        rows: totalRows,
        load_ms: Math.round(loadMs),
        reference_ms: Math.round(referenceMs),
        parallel_exact_ms: Math.round(parallel.ms),
        snapshot_ms: Math.round(parallel.snapshotMs),
        auto_ms: Math.round(auto.ms),
        estimate_ms: Math.round(estimate.ms),
        ratio_reference_over_parallel: ratio(parallel.ms),
        ratio_reference_over_auto: ratio(auto.ms),
        ratio_reference_over_estimate: ratio(estimate.ms),
        auto_max_estimate_error_pct: Math.round(a.maxError * 10_000) / 100,
      };
    } finally {
      await db.close();
    }
  } finally {
    await server.stop();
  }
}

/**
 * The plan shapes measured: a plain count(*) of the largest table (index-only on a vacuumed table),
 * the floor's, and each distinct shape of the full read's statements (none may read from an index).
 */
async function logPlans(db: ReadOnlyDb, tables: TableRef[], union: string, log: (line: string) => void): Promise<void> {
  // Each node kind once, in plan order, with how often it occurs: "Append, 25x Aggregate, 25x Seq Scan".
  const shape = (nodes: string[]) => {
    const kinds = new Map<string, number>();
    for (const n of nodes.map((x) => x.replace(/ on \S+$/, ''))) kinds.set(n, (kinds.get(n) ?? 0) + 1);
    return [...kinds].map(([k, c]) => (c > 1 ? `${c}x ${k}` : k)).join(', ');
  };
  const [plain] = await db.query<{ 'QUERY PLAN': [{ Plan: { 'Node Type': string; Plans?: unknown[] } }] }>(
    `EXPLAIN (FORMAT JSON) SELECT count(*) FROM ${quoteIdent(tables[0].schema)}.${quoteIdent(tables[0].name)}`,
  );
  const nodeTypes = (n: { 'Node Type': string; 'Parallel Aware'?: boolean; Plans?: unknown[] }): string[] => [
    `${n['Parallel Aware'] ? 'Parallel ' : ''}${n['Node Type']}`,
    ...((n.Plans ?? []) as (typeof n)[]).flatMap(nodeTypes),
  ];
  log(
    `plan of a plain count(*) of ${tables[0].name} (no planner settings): ${nodeTypes(plain['QUERY PLAN'][0].Plan).join(', ')}`,
  );
  const floor = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM (${union}) s`)).map(
    (r) => r['QUERY PLAN'],
  );
  const floorScans = floor.filter((l) => /Scan/.test(l));
  log(
    `plan of the floor: ${floorScans.length} scans: ${[
      ...new Set(
        floorScans.map((l) =>
          l
            .trim()
            .replace(/ on .*/, '')
            .replace(/^->\s*/, ''),
        ),
      ),
    ].join(', ')}`,
  );
  const plans = await explainRead(db, tables);
  const shapes = new Map<string, number>();
  for (const p of plans) shapes.set(shape(p.nodes), (shapes.get(shape(p.nodes)) ?? 0) + 1);
  for (const [s, n] of shapes) log(`plan of the full read: ${n} statement(s): ${s}`);
  const wrong = plans.find((p) => p.nodes.some((n) => NOT_A_FULL_READ.test(n)));
  if (wrong)
    throw new Error(`the full read of ${wrong.relations.join(', ')} reads from an index: ${wrong.nodes.join(' > ')}`);
}

/** (d)-(f): the restore side, read in full and verified, against one parallel scan of everything. */
async function benchRestoreRead(
  conn: ConstructorParameters<typeof ReadOnlyDb>[0],
  concurrency: number,
  totalRows: number,
  log: (line: string) => void,
): Promise<Record<string, number>> {
  const db = new ReadOnlyDb(conn, {
    statementTimeoutMs: 600_000,
    poolSize: concurrency,
    settings: RESTORE_READ_SETTINGS,
  });
  try {
    const tables = userTables(await snapshotSchema(db));
    const union = tables.map((t) => `SELECT FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`).join(' UNION ALL ');
    const floorOnce = async () => {
      const started = performance.now();
      const [{ n }] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${union}) s`);
      if (Number(n) !== totalRows) throw new Error(`floor counted ${n} rows, expected ${totalRows}`);
      return performance.now() - started;
    };
    await logPlans(db, tables, union, log);
    const floor1 = await floorOnce();
    // Measured twice like the floor (the machine is shared), the faster kept.
    const readOnce = async () => {
      const started = performance.now();
      const snap = await snapshotSchema(db);
      const counts = await readAllRows(db, userTables(snap), {
        concurrency,
        label: 'restore bench: read',
        log,
        progressEveryMs: 60_000,
      });
      return { ms: performance.now() - started, counts };
    };
    const read1 = await readOnce();
    const read2 = await readOnce();
    const { counts } = read2;
    const fullReadMs = Math.min(read1.ms, read2.ms);
    const floor2 = await floorOnce();
    const floorMs = Math.min(floor1, floor2);
    const total = counts.reduce((a, c) => a + c.rows, 0);
    if (total !== totalRows || counts.some((c) => c.error))
      throw new Error(`full read counted ${total} rows, expected ${totalRows}`);
    log(`(d) floor, one parallel scan of all tables in one statement: ${seconds(floor1)} then ${seconds(floor2)}`);
    log(
      `(e) restore compare phase (snapshot + full read, concurrency ${concurrency}, ${RESTORE_READ_SETTINGS.max_parallel_workers_per_gather} workers per scan): ${seconds(read1.ms)} then ${seconds(read2.ms)}; ${seconds(fullReadMs)} = ${(fullReadMs / floorMs).toFixed(2)}x the floor`,
    );

    const amcheck = await installAmcheck(conn, 600_000);
    const verify = async (mode: 'amcheck' | 'heap') => {
      const t0 = performance.now();
      const v = await verifyRestore(db, 'bench', amcheck, { mode, concurrency });
      const bad = v.relations.filter((r) => r.corruption.length || r.error);
      if (bad.length)
        throw new Error(
          `amcheck (${mode}) reported ${bad.length} relations on a healthy database: ${bad[0].name} ${bad[0].corruption[0] ?? bad[0].error}`,
        );
      return { ms: performance.now() - t0, relations: v.relations.length };
    };
    const full = await verify('amcheck');
    const heap = await verify('heap');
    log(
      `(f) amcheck (verify_heapam + B-tree checks, ${full.relations} relations): ${seconds(full.ms)} = ${(full.ms / floorMs).toFixed(2)}x the floor; heap only: ${seconds(heap.ms)} = ${(heap.ms / floorMs).toFixed(2)}x`,
    );
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      floor_ms: Math.round(floorMs),
      restore_full_read_ms: Math.round(fullReadMs),
      ratio_full_read_over_floor: r2(fullReadMs / floorMs),
      amcheck_ms: Math.round(full.ms),
      ratio_amcheck_over_floor: r2(full.ms / floorMs),
      heapcheck_ms: Math.round(heap.ms),
      ratio_heapcheck_over_floor: r2(heap.ms / floorMs),
    };
  } finally {
    await db.close();
  }
}
