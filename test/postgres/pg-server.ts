// A throwaway standalone PostgreSQL server (the installed major) for tests and benchmarks: initdb into a temp dir,
// run as OS user postgres (Postgres refuses root), trust auth on 127.0.0.1, stopped and removed by stop().
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { installForMajor, missingMajor, pgBin } from '../helpers/postgres-install.js';
import { giveToPostgres } from '../helpers/postgres-user.js';

const run = promisify(execFile);
/** Whatever major the OS packages installed, or PG_BIN (test/helpers/postgres-install.ts). */
export const PG_BIN = pgBin();

export interface PgServer {
  host: string;
  port: number;
  user: string;
  dir: string;
  /** An admin (superuser, read-write) client for setting up fixtures; closed by stop(). */
  admin(database?: string): Promise<pg.Client>;
  createDatabase(name: string): Promise<void>;
  /** The data directory (for tests that damage relation files while the server is down). */
  dataDir: string;
  /**
   * Stops the server (cleanly, or `immediate`: a crash, so the next start runs crash recovery),
   * runs `whileDown` (e.g. edit files as root), starts it again.
   */
  restart(whileDown?: () => void | Promise<void>, mode?: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
}

export interface PgServerOptions {
  /** initdb --data-checksums. */
  dataChecksums?: boolean;
  /** Another installed major than the default one (13 and 18 from .ci/setup.sh). */
  major?: number;
}

function binOf(major: number | undefined): string {
  if (major === undefined) return PG_BIN;
  const found = installForMajor(major);
  if (!found) throw new Error(missingMajor(major));
  return found.bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function asPostgres(cmd: string, args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]].flat() : [cmd, ...args];
}

/** `settings` become `-c key=value` server options (e.g. { synchronous_commit: 'off' }). */
export async function startPgServer(
  settings: Record<string, string> = {},
  serverOpts: PgServerOptions = {},
): Promise<PgServer> {
  const bin = binOf(serverOpts.major);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtest-'));
  chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  for (const d of [data, sock]) {
    mkdirSync(d, { mode: 0o700 });
    giveToPostgres(d);
  }
  const [initCmd, ...initArgs] = asPostgres(`${bin}/initdb`, [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
    ...(serverOpts.dataChecksums ? ['--data-checksums'] : []),
  ]);
  await run(initCmd, initArgs);
  const port = await freePort();
  const options = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: sock,
    fsync: 'off',
    autovacuum: 'off', // estimates must only change when a test runs ANALYZE
    ...settings,
  };
  const logFile = path.join(dir, 'server.log');
  writeFileSync(logFile, '');
  giveToPostgres(logFile);
  const opts = Object.entries(options)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const [ctl, ...ctlArgs] = asPostgres(`${bin}/pg_ctl`, [
    '-D',
    data,
    '-l',
    logFile,
    '-w',
    '-t',
    '60',
    '-o',
    opts,
    'start',
  ]);
  await run(ctl, ctlArgs);

  const clients: pg.Client[] = [];
  let stopped = false;
  const stopImmediately = () => {
    const [c, ...a] = asPostgres(`${bin}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']);
    try {
      execFileSync(c, a, { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  };
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    stopImmediately();
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed test process must not leave a server behind.
  process.once('exit', stopSync);

  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    dir,
    async admin(database = 'postgres') {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database });
      await client.connect();
      clients.push(client);
      return client;
    },
    async createDatabase(name) {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
    },
    dataDir: data,
    async restart(whileDown, mode = 'fast') {
      await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
      const [c, ...a] = asPostgres(`${bin}/pg_ctl`, ['-D', data, '-m', mode, '-w', 'stop']);
      await run(c, a);
      await whileDown?.();
      await run(ctl, ctlArgs);
    },
    async stop() {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      if (!stopped) {
        stopped = true;
        process.removeListener('exit', stopSync);
        const [c, ...a] = asPostgres(`${bin}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
        await run(c, a).catch(stopImmediately);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Closes the sessions and stops the server; true when no postgres process runs out of its directory any more. */
export async function stopAndCheck(
  server: PgServer | undefined,
  dbs: { close(): Promise<unknown> }[],
): Promise<boolean> {
  await Promise.all(dbs.map((db) => db.close()));
  if (!server) return true;
  await server.stop();
  return serverGone(server.dir);
}

/** True when no postgres process runs out of `dir` any more (cleanup check). */
export function serverGone(dir: string): boolean {
  try {
    const out = execFileSync('ps', ['-eo', 'args']).toString();
    return !out.split('\n').some((l) => l.includes(dir));
  } catch {
    return true;
  }
}
