// barman-cloud through the warm server (cnpg/barman_fork.py) behaves as the command itself: the same
// exit status and messages, the same objects in the store, signals reach the command, a killed
// client takes its command with it, and with no server the client runs the command directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { startS3 } from './s3.js';
import { killGroup, postgresEnv, ProcessGroup, sleep } from './cnpg/proc.js';
import { spawnAs } from '../helpers/postgres-user.js';
import { ensurePostgresDir, PgInstance, writePostgresFile } from './cnpg/postgres.js';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Barman, cloudArgs, type BarmanTarget } from './cnpg/barman.js';
import type { S3Handle } from './types.js';

let dir: string;
let s3: S3Handle;
let hang: Server;
let hangPort: number;
const procs = new ProcessGroup();
const direct = new Barman(procs);
const warm = new Barman(procs);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'barman-warm-'));
  chmodSync(dir, 0o755); // ours, as the operator's directory is: the server makes its own within it
  mkdirSync(join(dir, 'own'), { mode: 0o755 });
  ensurePostgresDir(join(dir, 'files'));
  s3 = await startS3({ dir: join(dir, 's3') });
  await warm.warm(dir);
  // An S3 endpoint that accepts and never answers: a call that runs until it is stopped.
  hang = createServer(() => undefined);
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  hangPort = (hang.address() as { port: number }).port;
}, 60_000);
afterAll(async () => {
  await procs.stopAll();
  await s3?.stop();
  hang?.close();
  rmSync(dir, { recursive: true, force: true });
});

const target = (endpointURL = s3.endpoint): BarmanTarget => ({
  destinationPath: `s3://${s3.bucket}/warm`,
  endpointURL,
  serverName: 'w',
  env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
});
/** barman's log lines carry a timestamp and a pid. */
/** barman-cloud-backup-list of the test's store, as JSON. */
const listArgs = () => [
  '--cloud-provider',
  'aws-s3',
  '--endpoint-url',
  s3.endpoint,
  '--format',
  'json',
  `s3://${s3.bucket}/warm`,
  'w',
];
const plain = (s: string) => s.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \[\d+\] /gm, '');
/** A server and its forks share its command line; idle, only the server is left. */
const processesOf = (script: string) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${script}\0serve`);
      } catch {
        return false;
      }
    }).length;
const serverProcs = () => processesOf(join(dir, 'barman', 'barman_fork.py'));
const walArgs = (t: BarmanTarget, src: string) => [
  '--cloud-provider',
  'aws-s3',
  '--endpoint-url',
  t.endpointURL!,
  t.destinationPath,
  t.serverName,
  src,
];
/** The server's workers (each a child of the call's supervisor, a child of the server). */
const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const workers = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        return parentOf(parentOf(p)) === warm.serverPid;
      } catch {
        return false;
      }
    });
const running = async () => {
  for (let i = 0; i < 100 && workers().length === 0; i++) await sleep(50);
  expect(workers()).toHaveLength(1);
  return workers()[0];
};

describe('barman-cloud through the warm server', () => {
  it('starts, and command lines go through its client', () => {
    expect(warm.walRestoreScript(join(dir, 'files'), target())).toBeTruthy();
    expect(readFileSync(join(dir, 'files', 'wal-restore.sh'), 'utf8')).toMatch(
      /barman_fork\.py' 'client' .*'barman-cloud-wal-restore'/,
    );
    expect(serverProcs()).toBe(1);
  });

  it('exits and reports as the command itself', async () => {
    expect(warm.launch).not.toEqual([]); // else both sides below run the command itself, and match trivially
    const cases: Array<[string, string[]]> = [
      ['barman-cloud-backup-list', listArgs()],
      [
        'barman-cloud-wal-restore',
        [
          '--cloud-provider',
          'aws-s3',
          '--endpoint-url',
          s3.endpoint,
          `s3://${s3.bucket}/warm`,
          'w',
          '000000010000000000000009',
          join(dir, 'files', 'x'),
        ],
      ],
      ['barman-cloud-wal-archive', ['--cloud-provider', 'aws-s3', `s3://${s3.bucket}/warm`, 'w', '/nonexistent']],
      ['barman-cloud-wal-restore', ['--no-such-flag']],
    ];
    for (const [tool, args] of cases) {
      const [a, b] = [await direct.run(tool, args, target()), await warm.run(tool, args, target())];
      expect({ tool, code: b.code, signal: b.signal }).toEqual({ tool, code: a.code, signal: a.signal });
      expect(plain(b.stdout)).toBe(plain(a.stdout));
      expect(plain(b.stderr)).toBe(plain(a.stderr));
    }
  }, 60_000);

  it('archives what the command restores, and the other way round', async () => {
    const wal = (n: number) => `00000001000000000000000${n}`;
    const bytes = randomBytes(16 * 1024 * 1024);
    for (const [n, up, down] of [
      [1, warm, direct],
      [2, direct, warm],
    ] as const) {
      const src = join(dir, 'files', wal(n));
      writePostgresFile(src, '');
      writeFileSync(src, bytes);
      const a = await up.run(
        'barman-cloud-wal-archive',
        ['--cloud-provider', 'aws-s3', '--endpoint-url', s3.endpoint, `s3://${s3.bucket}/warm`, 'w', src],
        target(),
      );
      expect(a.code, a.stderr).toBe(0);
      const dest = join(dir, 'files', `restored-${n}`);
      const r = await down.run(
        'barman-cloud-wal-restore',
        ['--cloud-provider', 'aws-s3', '--endpoint-url', s3.endpoint, `s3://${s3.bucket}/warm`, 'w', wal(n), dest],
        target(),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(dest).equals(bytes)).toBe(true);
    }
  }, 60_000);

  /** A call that hangs; `prefix` runs before the client (a shell that sets what the command inherits). */
  const hanging = (prefix: string[] = []) =>
    warm.launch.length === 0
      ? undefined
      : procs.spawn(
          [...prefix, ...warm.launch][0],
          [
            ...[...prefix, ...warm.launch].slice(1),
            'barman-cloud-wal-restore',
            '--cloud-provider',
            'aws-s3',
            '--endpoint-url',
            `http://127.0.0.1:${hangPort}`,
            `s3://${s3.bucket}/warm`,
            'w',
            '000000010000000000000003',
            join(dir, 'files', 'never'),
          ],
          { env: target().env },
        );

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} to the client ends the command`, async () => {
      const child = hanging()!;
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
      for (let i = 0; i < 100 && serverProcs() < 3; i++) await sleep(50); // server, supervisor, worker
      expect(serverProcs()).toBe(3);
      killGroup(child, signal);
      expect(await exited).toBe(signal);
      for (let i = 0; i < 100 && serverProcs() > 1; i++) await sleep(50);
      expect(serverProcs()).toBe(1);
    }, 30_000);
  }

  const ended = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.on('exit', (code, signal) => r({ code, signal })),
    );

  it('a command killed outright (SIGKILL: the OOM killer) is reported killed by SIGKILL, not as exit 1', async () => {
    const child = hanging()!;
    const exited = ended(child);
    process.kill(await running(), 'SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
  }, 30_000);

  it('a signal its caller ignores stays ignored (PostgreSQL ignores SIGINT around archive/restore commands)', async () => {
    const child = hanging(['/bin/sh', '-c', 'trap "" INT; exec "$@"', 'sh'])!;
    const exited = ended(child);
    await running();
    process.kill(child.pid!, 'SIGINT');
    await sleep(1_000);
    expect({ code: child.exitCode, signal: child.signalCode, workers: workers().length }).toEqual({
      code: null,
      signal: null,
      workers: 1,
    });
    killGroup(child, 'SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
  }, 30_000);

  it("runs in its caller's working directory, also one that was deleted", async () => {
    const files = join(dir, 'files');
    const inGone = (b: Barman, n: number) => {
      const cmd = [...b.launch, 'barman-cloud-wal-archive', '--version'];
      const script = 'mkdir "$1" && cd "$1" && rmdir "$1" && shift && exec "$@"';
      return procs.run('/bin/sh', ['-c', script, 'sh', join(files, `gone-${n}`), ...cmd], { cwd: files });
    };
    const [a, b] = [await inGone(direct, 1), await inGone(warm, 2)];
    expect(a.code).toBe(0);
    expect(b).toEqual(a);
  }, 30_000);

  it('concurrent calls each use their own credentials (two clusters, two keys, one server)', async () => {
    s3.addReadOnlyKey('WARM-RO', 'warm-ro-secret');
    const ro = { AWS_ACCESS_KEY_ID: 'WARM-RO', AWS_SECRET_ACCESS_KEY: 'warm-ro-secret' };
    const segment = (n: number) => {
      const src = join(dir, 'files', `00000001000000000000002${n}`);
      writePostgresFile(src, `segment ${n}`);
      return src;
    };
    const denied = { ...target(), serverName: 'creds-direct', env: ro };
    const refused = (await direct.run('barman-cloud-wal-archive', walArgs(denied, segment(9)), denied)).code;
    expect(refused).not.toBe(0);
    const since = Date.now();
    const calls = [0, 1, 2, 3, 4, 5].map(async (n) => {
      const t = { ...target(), serverName: `creds-${n}`, ...(n % 2 ? { env: ro } : {}) };
      return (await warm.run('barman-cloud-wal-archive', walArgs(t, segment(n)), t)).code;
    });
    expect(await Promise.all(calls)).toEqual([0, refused, 0, refused, 0, refused]);
    const keys = new Set(s3.requests(since).map((r) => r.accessKeyId));
    expect(keys).toEqual(new Set([s3.accessKeyId, 'WARM-RO']));
  }, 60_000);

  it('stopping the group ends the server and every call in flight, and its clients exit 1', async () => {
    const group = new ProcessGroup();
    const own = new Barman(group);
    await own.warm(join(dir, 'own'));
    // A client the group does not track (PostgreSQL's archiver runs its archive_command).
    const t = { ...target(`http://127.0.0.1:${hangPort}`), serverName: 'stop' };
    const args = walArgs(t, join(dir, 'files', '000000010000000000000001'));
    const client = spawn(own.launch[0], [...own.launch.slice(1), 'barman-cloud-wal-archive', ...args], {
      env: { ...postgresEnv(), ...t.env },
      ...spawnAs(),
    });
    const exited = ended(client);
    const mine = () => processesOf(join(dir, 'own', 'barman', 'barman_fork.py'));
    for (let i = 0; i < 100 && mine() < 3; i++) await sleep(50);
    expect(mine()).toBe(3);
    await group.stopAll();
    expect(await exited).toEqual({ code: 1, signal: null });
    for (let i = 0; i < 40 && mine() > 0; i++) await sleep(50);
    expect(mine()).toBe(0);
  }, 60_000);

  it('a socket path too long for sun_path in bytes, not in characters, keeps the direct commands', async () => {
    const group = new ProcessGroup();
    // <= 100 characters with barman/barman.sock, over 107 bytes in UTF-8 (each é is two bytes).
    const parent = join(dir, 'é'.repeat(80 - dir.length));
    mkdirSync(parent, { mode: 0o755 });
    const own = new Barman(group);
    try {
      await own.warm(parent);
      expect(own.launch).toEqual([]);
    } finally {
      await group.stopAll();
    }
  }, 60_000);

  it("a killed client's command is ended with the processes it started (barman-cloud-backup's upload workers)", async () => {
    const pg = new PgInstance({ pgdata: join(dir, 'pgdata'), procs, onLog: () => {} });
    await pg.initdb({});
    await pg.allocateEndpoint();
    pg.configure({}, { ...pg.endpointSettings(), archive_mode: 'off' });
    await pg.start();
    // S3 that answers everything but uploads of parts: the backup's upload workers wait on it.
    const s3url = new URL(s3.endpoint);
    const proxy = createHttpServer((req, res) => {
      if (req.method === 'PUT') return; // never answered
      const up = httpRequest(
        { host: s3url.hostname, port: s3url.port, path: req.url, method: req.method, headers: req.headers },
        (r) => (res.writeHead(r.statusCode ?? 500, r.headers), r.pipe(res)),
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const t = { ...target(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`), serverName: 'kill' };
      const args = [...cloudArgs(t), '--host', pg.socketDir, '--port', String(pg.port), '--user', 'postgres'];
      const client = procs.spawn(
        warm.launch[0],
        [...warm.launch.slice(1), 'barman-cloud-backup', ...args, t.destinationPath, t.serverName],
        { env: t.env },
      );
      let output = '';
      client.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exited = ended(client);
      // server, supervisor, worker and its upload processes
      for (let i = 0; i < 300 && serverProcs() < 4; i++) await sleep(50);
      expect(serverProcs(), output).toBeGreaterThanOrEqual(4);
      killGroup(client, 'SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
      for (let i = 0; i < 100 && serverProcs() > 1; i++) await sleep(50);
      expect(serverProcs()).toBe(1);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
      await pg.stop();
      pg.releaseSocketDir();
    }
  }, 120_000);

  it('with no server, the client runs the command itself', async () => {
    const alone = new Barman(procs);
    alone.launch = [...warm.launch.slice(0, -1), join(dir, 'no-such.sock')];
    const args = listArgs();
    const [a, b] = [
      await direct.run('barman-cloud-backup-list', args, target()),
      await alone.run('barman-cloud-backup-list', args, target()),
    ];
    expect(b).toEqual(a);
  }, 30_000);
});
