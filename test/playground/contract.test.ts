// The playground's contract (issue 2, section 3) exactly as a user meets it, with real tools only:
// `npm run playground -- up` (the CLI, detached), then with nothing but `<state>/env`: the real
// kubectl (apply, wait, get secret, port-forward svc/...) and the real psql against the emulated
// cluster's real PostgreSQL, a Backup taken by real barman-cloud into the real S3 store, and a
// second Cluster recovering from that object store (in-tree barmanObjectStore, then the Barman
// Cloud plugin's ObjectStore) that sees every row, including those written after the backup.
// Finally `npm run playground -- down` leaves no process, port or state directory behind.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './playground.js';
import { alive, portOpen } from '../helpers/wait.js';
import { postgresUser } from '../helpers/postgres-user.js';

const KUBECTL = join(REPO_ROOT, '.tools', 'bin', 'kubectl');
const PSQL = '/usr/bin/psql';

// Made in beforeAll (a run that filters every test out leaves nothing behind).
let root = '';
let stateDir = '';
let manifests = '';
let home = '';

interface Result {
  code: number;
  out: string;
  err: string;
}

function sh(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000, cwd = root): Promise<Result> {
  return new Promise((resolve) => {
    execFile(bin, args, { env, cwd, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, out: stdout.toString(), err: stderr.toString() });
    });
  });
}
const show = (r: Result) => `exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`;

/** `npm run playground -- <cmd>` (npx tsx test/playground/cli.ts <cmd>) in the repo, its state in our temp dir. */
const cli = (cmd: 'up' | 'down' | 'status', state?: string) =>
  sh(
    'npx',
    ['tsx', join(REPO_ROOT, 'test', 'playground', 'cli.ts'), cmd],
    { ...process.env, PLAYGROUND_STATE_DIR: state ?? stateDir },
    120_000,
    REPO_ROOT,
  );

// The user's environment: nothing but what `<state>/env` says (plus a private HOME for kubectl's cache).
let userEnv: NodeJS.ProcessEnv = {};
let envFile: Record<string, string> = {};
let daemonPid = 0;

const kubectl = (...args: string[]) => sh(KUBECTL, args, userEnv);
/** Decoded value of a key of a Secret, read the way a user does: kubectl get -o jsonpath. */
async function secretKey(name: string, key: string): Promise<string> {
  const r = await kubectl('get', 'secret', name, '-o', `jsonpath={.data.${key}}`);
  expect(r.code, show(r)).toBe(0);
  return Buffer.from(r.out, 'base64').toString();
}
function apply(file: string, yaml: string): Promise<Result> {
  const path = join(manifests, file);
  writeFileSync(path, yaml);
  return kubectl('apply', '-f', path);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const forwards: ChildProcess[] = [];
/** `kubectl port-forward svc/<svc> <local>:5432` in the background; resolves once it listens. */
async function portForward(svc: string): Promise<number> {
  const local = await freePort();
  const pf = spawn(KUBECTL, ['port-forward', `svc/${svc}`, `${local}:5432`], { env: userEnv, cwd: root });
  forwards.push(pf);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`kubectl port-forward svc/${svc} did not start in 20 s: ${out}`)),
      20_000,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes(`127.0.0.1:${local} -> 5432`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    pf.stdout!.on('data', onData);
    pf.stderr!.on('data', onData);
    pf.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward svc/${svc} exited (${code}): ${out}`));
    });
  });
  return local;
}
function stopForwards(): void {
  for (const pf of forwards.splice(0)) if (pf.exitCode === null) pf.kill();
}

interface Login {
  port: number;
  user: string;
  password: string;
  dbname: string;
}
/** Credentials of a CNPG-made Secret (`<cluster>-app` / `-superuser`), reaching a local forward. */
async function login(secret: string, port: number): Promise<Login> {
  return {
    port,
    user: await secretKey(secret, 'username'),
    password: await secretKey(secret, 'password'),
    dbname: await secretKey(secret, 'dbname'),
  };
}
/** The real psql, unaligned tuples-only, stopping on the first error. */
async function psql(l: Login, sql: string, dbname = l.dbname): Promise<string> {
  const r = await sh(
    PSQL,
    [
      '-X',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-p',
      String(l.port),
      '-U',
      l.user,
      '-d',
      dbname,
      '-c',
      sql,
    ],
    { PATH: userEnv.PATH, HOME: home, PGPASSWORD: l.password, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' },
    30_000,
  );
  expect(r.code, `psql ${sql}\n${show(r)}`).toBe(0);
  return r.out.trim();
}

/** Forces the current WAL segment out and waits until the archiver reports it archived. */
async function switchWalAndWaitArchived(su: Login): Promise<string> {
  const segment = await psql(su, 'SELECT pg_walfile_name(pg_switch_wal())', 'postgres');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [archived, failed] = (
      await psql(su, "SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver", 'postgres')
    ).split('|');
    if (archived >= segment) return segment;
    if (Date.now() > deadline)
      throw new Error(`WAL ${segment} not archived within 30 s (last archived '${archived}', ${failed} failures)`);
    await sleep(250);
  }
}

/** The playground's processes: the daemon and its descendants (ps as a user would run it). */
function descendants(pid: number): { pid: number; user: string; args: string }[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,user:20=,args='])
    .toString()
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l)!;
      return { pid: Number(m[1]), ppid: Number(m[2]), user: m[3], args: m[4] };
    });
  const out = new Set<number>([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows) {
      if (out.has(r.ppid) && !out.has(r.pid)) {
        out.add(r.pid);
        grew = true;
      }
    }
  }
  return rows.filter((r) => out.has(r.pid));
}

/** What a user would look at when a wait fails: the object's status, pods, jobs, logs, the daemon's log. */
async function diagnose(cluster: string): Promise<string> {
  const parts = [
    await kubectl('get', 'cluster', cluster, '-o', 'jsonpath={.status}'),
    await kubectl('get', 'pods,jobs,pvc', '-l', `cnpg.io/cluster=${cluster}`),
    await kubectl('logs', '-l', `cnpg.io/cluster=${cluster}`, '--all-containers', '--tail=15'),
  ].map((r) => `${r.out}${r.err}`);
  const log = join(stateDir, 'playground.log');
  if (existsSync(log)) parts.push(`playground.log: ${readFileSync(log, 'utf8').slice(-1500)}`);
  return parts.join('\n---\n');
}

/** The fields of a barmanObjectStore / ObjectStore configuration for the playground bucket, indented. */
const store = (prefix: string, indent: string) =>
  [
    `destinationPath: s3://${envFile.PLAYGROUND_S3_BUCKET}/${prefix}`,
    `endpointURL: ${envFile.PLAYGROUND_S3_ENDPOINT}`,
    's3Credentials:',
    `  accessKeyId: {name: ${envFile.PLAYGROUND_S3_SECRET}, key: ACCESS_KEY_ID}`,
    `  secretAccessKey: {name: ${envFile.PLAYGROUND_S3_SECRET}, key: ACCESS_SECRET_KEY}`,
  ]
    .map((l) => indent + l)
    .join('\n');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'playground-contract-'));
  // Like the repo's own `.playground/`, the state lives where the OS user postgres can traverse
  // (mkdtemp makes 0700 directories; see the private-directory test at the end).
  chmodSync(root, 0o755);
  stateDir = join(root, 'state');
  manifests = join(root, 'manifests');
  home = join(root, 'home');
  mkdirSync(manifests);
  mkdirSync(home);
  const up = await cli('up');
  expect(up.code, show(up)).toBe(0);
  envFile = Object.fromEntries(
    readFileSync(join(stateDir, 'env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  daemonPid = Number(readFileSync(join(stateDir, 'pid'), 'utf8').trim());
  userEnv = { ...envFile, HOME: home };
});

afterAll(async () => {
  stopForwards();
  if (stateDir && existsSync(stateDir)) await cli('down');
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the playground contract', () => {
  it('up writes the env file of the contract', () => {
    for (const k of ['KUBECONFIG', 'PLAYGROUND_S3_ENDPOINT', 'PLAYGROUND_S3_BUCKET', 'PLAYGROUND_S3_SECRET'])
      expect(envFile[k], k).toBeTruthy();
    expect(envFile.KUBECONFIG.startsWith('/')).toBe(true);
    expect(existsSync(envFile.KUBECONFIG)).toBe(true);
    expect(envFile.PLAYGROUND_S3_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  describe.each([
    { mode: 'in-tree barmanObjectStore', src: 'contract-src', dst: 'contract-dst', prefix: 'contract-intree' },
    { mode: 'Barman Cloud plugin', src: 'contract-psrc', dst: 'contract-pdst', prefix: 'contract-plugin' },
  ])('$mode', ({ mode, src, dst, prefix }) => {
    const plugin = mode !== 'in-tree barmanObjectStore';
    const objectStore = `${src}-store`;
    let su: Login;
    let afterBackupRows = 0;

    it('kubectl apply of an initdb Cluster with backups to the playground bucket reaches Ready', async () => {
      if (plugin) {
        const os = await apply(
          `${objectStore}.yaml`,
          `apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: ${objectStore}
spec:
  configuration:
${store(prefix, '    ')}
`,
        );
        expect(os.code, show(os)).toBe(0);
      }
      const backupSection = plugin
        ? `  plugins:
  - name: barman-cloud.cloudnative-pg.io
    isWALArchiver: true
    parameters:
      barmanObjectName: ${objectStore}
      serverName: ${src}
`
        : `  backup:
    barmanObjectStore:
${store(prefix, '      ')}
`;
      const r = await apply(
        `${src}.yaml`,
        `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${src}
spec:
  instances: 1
  enableSuperuserAccess: true
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
      owner: app
${backupSection}`,
      );
      expect(r.code, show(r)).toBe(0);
      expect(r.out).toContain(`cluster.postgresql.cnpg.io/${src} created`);
      const wait = await kubectl('wait', '--for=condition=Ready', `cluster/${src}`, '--timeout=60s');
      if (wait.code !== 0) expect.fail(`${show(wait)}\n${await diagnose(src)}`);
      const phase = await kubectl('get', 'cluster', src, '-o', 'jsonpath={.status.phase}');
      expect(phase.out).toBe('Cluster in healthy state');
    });

    it('port-forward svc/<cluster>-rw: psql with the -app secret writes rows; a Backup completes', async () => {
      const port = await portForward(`${src}-rw`);
      const app = await login(`${src}-app`, port);
      expect(app.user).toBe('app');
      await psql(app, 'CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL)');
      await psql(app, "INSERT INTO orders SELECT g, 'before backup ' || g FROM generate_series(1, 1000) g");
      expect(await psql(app, 'SELECT current_user, count(*) FROM orders GROUP BY 1')).toBe('app|1000');
      su = await login(`${src}-superuser`, port);
      expect(su.user).toBe('postgres');
      await switchWalAndWaitArchived(su);
      const archiving = await kubectl('wait', '--for=condition=ContinuousArchiving', `cluster/${src}`, '--timeout=30s');
      expect(archiving.code, show(archiving)).toBe(0);

      const backup = await apply(
        `${src}-backup.yaml`,
        `apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata:
  name: ${src}-backup
spec:
  cluster:
    name: ${src}
${plugin ? '  method: plugin\n  pluginConfiguration:\n    name: barman-cloud.cloudnative-pg.io\n' : ''}`,
      );
      expect(backup.code, show(backup)).toBe(0);
      const done = await kubectl(
        'wait',
        '--for=jsonpath={.status.phase}=completed',
        `backup/${src}-backup`,
        '--timeout=60s',
      );
      if (done.code !== 0) {
        const status = await kubectl('get', 'backup', `${src}-backup`, '-o', 'jsonpath={.status}');
        expect.fail(`Backup did not complete: ${show(done)}\nstatus: ${status.out}`);
      }
      const id = await kubectl('get', 'backup', `${src}-backup`, '-o', 'jsonpath={.status.backupId}');
      expect(id.out).toMatch(/^\d{8}T\d{6}$/);

      // Writes after the backup reach the archive only as WAL.
      await psql(app, "INSERT INTO orders SELECT g, 'after backup ' || g FROM generate_series(1001, 1500) g");
      await psql(app, "UPDATE orders SET note = 'updated after backup' WHERE id = 1");
      afterBackupRows = 500;
      await switchWalAndWaitArchived(su);
      stopForwards();
    });

    it('a Cluster recovering from the object store reaches Ready and psql sees every row', async () => {
      expect(afterBackupRows).toBe(500); // the previous step ran
      const source = plugin
        ? `    plugin:
      name: barman-cloud.cloudnative-pg.io
      parameters:
        barmanObjectName: ${objectStore}
        serverName: ${src}
`
        : `    barmanObjectStore:
      serverName: ${src}
${store(prefix, '      ')}
`;
      const r = await apply(
        `${dst}.yaml`,
        `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${dst}
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
  externalClusters:
  - name: origin
${source}`,
      );
      expect(r.code, show(r)).toBe(0);
      const wait = await kubectl('wait', '--for=condition=Ready', `cluster/${dst}`, '--timeout=60s');
      if (wait.code !== 0) expect.fail(`recovery cluster not Ready: ${show(wait)}\n${await diagnose(dst)}`);
      // CNPG deletes the completed recovery Job once the instance reports (cluster_cleanup.go).
      const gone = await kubectl('wait', '--for=delete', `job/${dst}-1-full-recovery`, '--timeout=30s');
      expect(gone.code, show(gone)).toBe(0);

      const port = await portForward(`${dst}-rw`);
      const app = await login(`${dst}-app`, port);
      expect(await psql(app, 'SELECT count(*), max(id) FROM orders')).toBe('1500|1500');
      expect(await psql(app, "SELECT count(*) FROM orders WHERE note LIKE 'after backup %'")).toBe(
        String(afterBackupRows),
      );
      expect(await psql(app, 'SELECT note FROM orders WHERE id = 1')).toBe('updated after backup');
      // A promoted recovery, on a new timeline, writable.
      expect(await psql(app, 'SELECT pg_is_in_recovery()')).toBe('f');
      await psql(app, "INSERT INTO orders VALUES (1501, 'written on the restored cluster')");
      const timeline = await kubectl('get', 'cluster', dst, '-o', 'jsonpath={.status.timelineID}');
      expect(Number(timeline.out)).toBeGreaterThan(1);
      stopForwards();
    });
  });

  it('down leaves no process, port or state directory behind', async () => {
    expect(daemonPid).toBeGreaterThan(0);
    const procs = descendants(daemonPid);
    // While up: the daemon runs the clusters' real postmasters as the OS user postgres.
    const postmasters = procs.filter((p) => p.user === 'postgres' && /\/postgres -D /.test(p.args));
    expect(postmasters.length, procs.map((p) => `${p.pid} ${p.user} ${p.args}`).join('\n')).toBeGreaterThanOrEqual(4);
    const apiPort = Number(new URL(envFile.PLAYGROUND_API_URL).port);
    const s3Port = Number(new URL(envFile.PLAYGROUND_S3_ENDPOINT).port);
    expect(await portOpen(apiPort)).toBe(true);
    expect(await portOpen(s3Port)).toBe(true);

    const down = await cli('down');
    expect(down.code, show(down)).toBe(0);
    expect(alive(daemonPid)).toBe(false);
    const left = procs.filter((p) => alive(p.pid));
    expect(left.map((p) => `${p.pid} ${p.user} ${p.args}`)).toEqual([]);
    const anyPostgres = execFileSync('ps', ['-u', String(postgresUser().uid), '-o', 'pid=,args=']).toString();
    expect(anyPostgres.split('\n').filter((l) => l.includes(stateDir))).toEqual([]);
    expect(await portOpen(apiPort)).toBe(false); // the API port
    expect(await portOpen(s3Port)).toBe(false); // s3rver
    expect(existsSync(stateDir)).toBe(false);
    expect((await cli('status')).code).not.toBe(0);
  });
});

// A state directory below a private (0700) directory, e.g. a checkout under /root with the default
// `.playground/`: the OS user postgres cannot reach the volumes. `up` should refuse with a clear
// message, or clusters should still come up; today `up` succeeds and every initdb Job attempt
// fails with "could not access directory ...: Permission denied" until the Cluster is unrecoverable.
describe('a state directory the OS user postgres cannot traverse', () => {
  let privateRoot = '';
  let privateState = '';
  beforeAll(() => {
    privateRoot = mkdtempSync(join(tmpdir(), 'playground-contract-private-')); // 0700
    privateState = join(privateRoot, 'state');
  });
  afterAll(async () => {
    if (privateState && existsSync(privateState)) await cli('down', privateState);
    if (privateRoot) rmSync(privateRoot, { recursive: true, force: true });
  });

  it('up refuses it with a clear message, or an initdb Cluster still reaches Ready', async () => {
    const up = await cli('up', privateState);
    if (up.code !== 0) {
      expect(`${up.out}${up.err}`).toMatch(/postgres|permission/i);
      return;
    }
    const envText = readFileSync(join(privateState, 'env'), 'utf8');
    const env: NodeJS.ProcessEnv = { HOME: home };
    for (const l of envText.split('\n'))
      if (l.includes('=')) env[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
    const file = join(manifests, 'private.yaml');
    writeFileSync(
      file,
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: private\nspec:\n  instances: 1\n  storage:\n    size: 1Gi\n',
    );
    const applied = await sh(KUBECTL, ['apply', '-f', file], env);
    expect(applied.code, show(applied)).toBe(0);
    // An initdb cluster is Ready in about 2 s on this playground.
    const wait = await sh(KUBECTL, ['wait', '--for=condition=Ready', 'cluster/private', '--timeout=15s'], env);
    if (wait.code !== 0) {
      const logs = await sh(KUBECTL, ['logs', '-l', 'cnpg.io/jobRole=initdb', '--all-containers', '--tail=2'], env);
      expect.fail(
        `up accepted state dir ${privateState} (parent mode 0700) but the cluster never initdb'd:\n${logs.out}${logs.err}`,
      );
    }
  });
});
