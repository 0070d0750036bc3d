// The playground's speed targets (issue 2, "Done when"), measured in one run on the real
// components (PostgreSQL 15, barman-cloud, s3rver):
//   (1) startPlayground() until the API answers /version          target < 5 s
//       (and `npm run playground -- up`, the detached CLI, likewise)
//   (2) an initdb Cluster from create to Ready                     target < 10 s
//   (3) a small restore: a Cluster recovering from a fresh backup of a small database
//       (BENCH_PLAYGROUND_ROWS rows, default 10,000, plus rows written after the backup)
//       from create to Ready                                       target < 30 s
// Each figure is printed next to its target with the ratio target/measured (> 1 means met).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { httpsGet } from '../playground/cli-testing.js';
import { REPO_ROOT, startPlayground } from '../playground/playground.js';
import type { KubeObject, PlaygroundHandle } from '../playground/types.js';
import { envInt } from './env.js';
import { sleep } from '../helpers/wait.js';

const run = promisify(execFile);
const CLUSTERS = 'postgresql.cnpg.io/v1/clusters';
const BACKUPS = 'postgresql.cnpg.io/v1/backups';
const NS = 'default';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (targetMs: number, ms: number) => Math.round((targetMs / ms) * 10) / 10;

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}`);
    await sleep(25);
  }
}

const isReady = (c: KubeObject | undefined) =>
  (c?.status?.conditions ?? []).some(
    (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
  );

/** Create to Ready of a Cluster, polled on the store the API server serves; also when its bootstrap Job completed. */
async function clusterReady(
  pg0: PlaygroundHandle,
  obj: KubeObject,
  timeoutMs: number,
): Promise<{ ms: number; jobMs: number }> {
  const started = performance.now();
  const role = obj.spec?.bootstrap?.recovery ? 'full-recovery' : 'initdb';
  let jobMs = NaN;
  pg0.store.create(CLUSTERS, obj);
  await until(`cluster ${obj.metadata.name} Ready`, timeoutMs, () => {
    if (Number.isNaN(jobMs)) {
      const job = pg0.store.get('batch/v1/jobs', NS, `${obj.metadata.name}-1-${role}`);
      if (
        (job?.status?.conditions ?? []).some(
          (x: { type: string; status: string }) => x.type === 'Complete' && x.status === 'True',
        )
      )
        jobMs = performance.now() - started;
    }
    const c = pg0.store.get(CLUSTERS, NS, obj.metadata.name);
    if (c?.status?.phase === 'Cluster is unrecoverable and needs manual intervention') {
      throw new Error(
        `cluster ${obj.metadata.name}: ${c.status.phase}: ${c.status.phaseReason}\n${pg0.logs.read(NS, `${obj.metadata.name}-1`)}`,
      );
    }
    return isReady(c);
  });
  return { ms: performance.now() - started, jobMs };
}

function secretValue(pg0: PlaygroundHandle, name: string, key: string): string {
  const s = pg0.store.get('v1/secrets', NS, name);
  const v = s?.data?.[key] ?? undefined;
  if (v === undefined) throw new Error(`secret ${name} has no ${key}`);
  return Buffer.from(v, 'base64').toString();
}

/** A client on the pod's real Postgres port (what a port-forward reaches), as the -app or -superuser user. */
async function connect(pg0: PlaygroundHandle, cluster: string, secret: 'app' | 'superuser'): Promise<pg.Client> {
  const target = pg0.network.resolve(NS, `${cluster}-1`, 5432);
  if (!target) throw new Error(`pod ${cluster}-1 has no registered port`);
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: secretValue(pg0, `${cluster}-${secret}`, 'username'),
    password: secretValue(pg0, `${cluster}-${secret}`, 'password'),
    database: secret === 'app' ? secretValue(pg0, `${cluster}-app`, 'dbname') : 'postgres',
  });
  await client.connect();
  return client;
}

async function switchWalAndWaitArchived(su: pg.Client): Promise<void> {
  const { rows } = await su.query<{ seg: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS seg');
  await until(`WAL ${rows[0].seg} archived`, 30_000, async () => {
    const a = await su.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
    return (a.rows[0].w ?? '') >= rows[0].seg;
  });
}

export async function benchPlayground(log: (line: string) => void): Promise<Record<string, number>> {
  const rows = envInt('BENCH_PLAYGROUND_ROWS', 10_000);
  const targets = { up: 5_000, initdb: 10_000, restore: 30_000 };
  const line = (what: string, ms: number, target: number) =>
    log(
      `${what}: ${seconds(ms)} (target < ${seconds(target)}, target/measured = ${ratio(target, ms)}x${ms < target ? '' : ', MISSED'})`,
    );

  // (1a) `npm run playground -- up` / `down`: the detached CLI, its state in a temp dir.
  const cliRoot = mkdtempSync(path.join(tmpdir(), 'bench-playground-cli-'));
  chmodSync(cliRoot, 0o755);
  const cliEnv = { ...process.env, PLAYGROUND_STATE_DIR: path.join(cliRoot, 'state') };
  const cli = (cmd: string) =>
    run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'playground', 'cli.ts'), cmd], {
      cwd: REPO_ROOT,
      env: cliEnv,
      timeout: 120_000,
    });
  let cliUpMs: number;
  try {
    const started = performance.now();
    await cli('up');
    const env = readFileSync(path.join(cliRoot, 'state', 'env'), 'utf8');
    const api = /^PLAYGROUND_API_URL=(.*)$/m.exec(env)![1];
    const ca = readFileSync(/^PLAYGROUND_API_CA=(.*)$/m.exec(env)![1]);
    await until('the CLI playground API', 10_000, async () => !!(await httpsGet(`${api}/version`, ca)));
    cliUpMs = performance.now() - started;
  } finally {
    await cli('down').catch(() => undefined);
    rmSync(cliRoot, { recursive: true, force: true });
  }
  line('npm run playground -- up, to API ready (detached daemon, incl. node + tsx start)', cliUpMs, targets.up);

  // (1b) startPlayground(), the library the test suites use.
  const upStarted = performance.now();
  const pg0 = await startPlayground();
  try {
    await until(
      'API /version',
      10_000,
      async () => !!(await httpsGet(`${pg0.apiUrl}/version`, Buffer.from(pg0.apiCa))),
    );
    const upMs = performance.now() - upStarted;
    line('startPlayground() to API ready', upMs, targets.up);

    // (2) initdb Cluster with continuous archiving to the playground bucket.
    const store = {
      destinationPath: `s3://${pg0.s3.bucket}/bench`,
      endpointURL: pg0.s3.endpoint,
      s3Credentials: {
        accessKeyId: { name: pg0.env.PLAYGROUND_S3_SECRET, key: 'ACCESS_KEY_ID' },
        secretAccessKey: { name: pg0.env.PLAYGROUND_S3_SECRET, key: 'ACCESS_SECRET_KEY' },
      },
    };
    const initdb = await clusterReady(
      pg0,
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Cluster',
        metadata: { name: 'bench-src', namespace: NS },
        spec: {
          instances: 1,
          enableSuperuserAccess: true,
          storage: { size: '1Gi' },
          bootstrap: { initdb: { database: 'app', owner: 'app' } },
          backup: { barmanObjectStore: store },
        },
      },
      60_000,
    );
    const initdbMs = initdb.ms;
    line(
      `initdb Cluster, create to Ready (initdb Job complete after ${seconds(initdb.jobMs)})`,
      initdbMs,
      targets.initdb,
    );

    // (3) a small database, a fresh backup, writes after it, then a recovery cluster.
    const app = await connect(pg0, 'bench-src', 'app');
    const su = await connect(pg0, 'bench-src', 'superuser');
    let backupMs: number;
    let sizeBytes: number;
    try {
      await app.query(
        `CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, ${rows}) g`,
      );
      sizeBytes = Number(
        (await app.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0].b,
      );
      await switchWalAndWaitArchived(su);
      const backupStarted = performance.now();
      pg0.store.create(BACKUPS, {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Backup',
        metadata: { name: 'bench-backup', namespace: NS },
        spec: { cluster: { name: 'bench-src' } },
      });
      await until('backup completed', 120_000, () => {
        const b = pg0.store.get(BACKUPS, NS, 'bench-backup');
        if (b?.status?.phase === 'failed') throw new Error(`backup failed: ${b.status.error}`);
        return b?.status?.phase === 'completed';
      });
      backupMs = performance.now() - backupStarted;
      await app.query(
        `INSERT INTO items SELECT g, 'after backup ' || g FROM generate_series(${rows + 1}, ${rows + 100}) g`,
      );
      await switchWalAndWaitArchived(su);
    } finally {
      await app.end();
      await su.end();
    }
    log(
      `fresh backup of a ${(sizeBytes / 2 ** 20).toFixed(1)} MiB database (${rows} rows): Backup create to completed in ${seconds(backupMs)}`,
    );

    const restore = await clusterReady(
      pg0,
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Cluster',
        metadata: { name: 'bench-dst', namespace: NS },
        spec: {
          instances: 1,
          storage: { size: '1Gi' },
          bootstrap: { recovery: { source: 'origin' } },
          externalClusters: [{ name: 'origin', barmanObjectStore: { ...store, serverName: 'bench-src' } }],
        },
      },
      120_000,
    );
    const restoreMs = restore.ms;
    const check = await connect(pg0, 'bench-dst', 'app');
    try {
      const n = Number((await check.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0].n);
      if (n !== rows + 100) throw new Error(`restored cluster has ${n} rows, expected ${rows + 100}`);
    } finally {
      await check.end();
    }
    line(
      `small restore (base backup + WAL replay, ${rows + 100} rows checked), create to Ready (full-recovery Job complete after ${seconds(restore.jobMs)})`,
      restoreMs,
      targets.restore,
    );

    return {
      cli_up_ms: Math.round(cliUpMs),
      up_ms: Math.round(upMs),
      initdb_ready_ms: Math.round(initdbMs),
      backup_ms: Math.round(backupMs),
      restore_ready_ms: Math.round(restoreMs),
      restore_job_ms: Math.round(restore.jobMs),
      rows,
      ratio_target_over_cli_up: ratio(targets.up, cliUpMs),
      ratio_target_over_up: ratio(targets.up, upMs),
      ratio_target_over_initdb: ratio(targets.initdb, initdbMs),
      ratio_target_over_restore: ratio(targets.restore, restoreMs),
    };
  } finally {
    await pg0.stop();
  }
}
