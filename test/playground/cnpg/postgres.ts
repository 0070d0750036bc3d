// A real PostgreSQL server: initdb, configuration files, start/stop of the postmaster, SQL. Its major is
// the image's for initdb and the data's after (test/helpers/postgres-install.ts).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { binForData } from '../../helpers/postgres-install.js';
import { PG_BIN, ProcessGroup, freePort, killGroup, sleep } from './proc.js';
import { giveToPostgres } from '../../helpers/postgres-user.js';

/** Parameters the operator owns; users cannot override them (like CNPG's fixed parameters). */
const FIXED = new Set([
  'port',
  'listen_addresses',
  'unix_socket_directories',
  'archive_command',
  'restore_command',
  'hba_file',
  'data_directory',
]);

export const DEFAULT_PARAMETERS: Record<string, string> = {
  shared_buffers: '16MB',
  max_connections: '100',
  max_wal_senders: '10',
  max_replication_slots: '10',
  wal_level: 'logical', // CNPG's default
  wal_keep_size: '128MB',
  hot_standby: 'on',
  archive_timeout: '5min',
  fsync: 'off', // a playground: durability across OS crashes is not modelled
  full_page_writes: 'on',
  dynamic_shared_memory_type: 'posix',
  log_destination: 'stderr',
  logging_collector: 'off',
  log_line_prefix: '%m [%p] ',
  log_checkpoints: 'off',
  max_worker_processes: '8',
};

const HBA = [
  'local all all trust',
  'host replication streaming_replica 127.0.0.1/32 trust',
  'host all all 127.0.0.1/32 scram-sha-256',
  'host all all ::1/128 scram-sha-256',
].join('\n');

/** Like CNPG's GeneratePostgresqlHBA: md5 below PostgreSQL 14, whose password_encryption defaults to md5. */
function hbaFor(pgdata: string): string {
  const file = join(pgdata, 'PG_VERSION');
  const major = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : Infinity;
  return major < 14 ? HBA.replaceAll('scram-sha-256', 'md5') : HBA;
}

export const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
export const sqlLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
const confValue = (v: string) => `'${String(v).replace(/'/g, "''")}'`;

/** Makes a directory owned by the user PostgreSQL runs as, with mode 0700. */
export function ensurePostgresDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  giveToPostgres(dir);
  chmodSync(dir, 0o700);
}

export function writePostgresFile(path: string, text: string, mode = 0o600): void {
  writeFileSync(path, text, { mode });
  giveToPostgres(path);
  chmodSync(path, mode);
}

export interface InstanceOptions {
  pgdata: string;
  /** The server bin directory for initdb (the image's major); once PGDATA exists, its PG_VERSION decides. */
  bin?: string;
  procs: ProcessGroup;
  onLog: (text: string) => void;
}

export class PgInstance {
  readonly pgdata: string;
  port = 0;
  socketDir = '';
  private child?: ChildProcess;
  private exitWaiters: Array<() => void> = [];
  private exited = true;
  private stopping = false;
  /** Called when the postmaster exits without stop() asking for it (a crash or a kill). */
  onUnexpectedExit?: (code: number | null, signal: string | null) => void;

  constructor(private readonly opts: InstanceOptions) {
    this.pgdata = opts.pgdata;
  }

  /** Data of a major runs that major's server, as only an image of that major could run it. */
  private get bin(): string {
    return binForData(this.pgdata) ?? this.opts.bin ?? PG_BIN;
  }

  get pid(): number | undefined {
    return this.exited ? undefined : this.child?.pid;
  }
  get running(): boolean {
    return !this.exited;
  }

  hasData(): boolean {
    return existsSync(join(this.pgdata, 'PG_VERSION'));
  }

  async initdb(opts: { superuserPassword?: string }): Promise<void> {
    ensurePostgresDir(this.pgdata);
    const args = [
      '-D',
      this.pgdata,
      '-U',
      'postgres',
      '--encoding=UTF8',
      '--locale=C',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-sync',
    ];
    const r = await this.opts.procs.run(`${this.bin}/initdb`, args, { onOutput: this.opts.onLog });
    if (r.code !== 0) throw new Error(`initdb failed: ${r.stderr.trim()}`);
    void opts;
  }

  /** Rewrites postgresql.conf / pg_hba.conf (restored data carries the source's files). */
  configure(parameters: Record<string, string>, extra: Record<string, string> = {}): void {
    const params: Record<string, string> = { ...DEFAULT_PARAMETERS };
    for (const [k, v] of Object.entries(parameters)) if (!FIXED.has(k)) params[k] = String(v);
    Object.assign(params, extra);
    const lines = Object.entries(params).map(([k, v]) => `${k} = ${confValue(v)}`);
    writePostgresFile(join(this.pgdata, 'custom.conf'), lines.join('\n') + '\n');
    writePostgresFile(
      join(this.pgdata, 'postgresql.conf'),
      `# Written by the CNPG operator emulator\ninclude 'custom.conf'\n`,
    );
    writePostgresFile(join(this.pgdata, 'pg_hba.conf'), hbaFor(this.pgdata) + '\n');
    writePostgresFile(join(this.pgdata, 'pg_ident.conf'), '');
  }

  /** Operator-owned settings written after the user's: sockets and port are real here. */
  async allocateEndpoint(): Promise<void> {
    if (!this.socketDir) {
      this.socketDir = mkdtempSync('/tmp/cnpg-sock-');
      ensurePostgresDir(this.socketDir);
    }
    this.port = await freePort();
  }

  endpointSettings(): Record<string, string> {
    return { port: String(this.port), listen_addresses: '127.0.0.1', unix_socket_directories: this.socketDir };
  }

  /** Starts the postmaster; resolves once it accepts connections (or, for a standby in recovery, too). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    rmSync(join(this.pgdata, 'postmaster.pid'), { force: true }); // a stale pid file after a kill -9
    const child = this.opts.procs.spawn(`${this.bin}/postgres`, ['-D', this.pgdata]);
    this.child = child;
    this.exited = false;
    this.stopping = false;
    let log = '';
    const onData = (d: Buffer) => {
      const t = d.toString();
      if (log.length < 20_000) log += t;
      this.opts.onLog(t);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      this.exited = true;
      const waiters = this.exitWaiters;
      this.exitWaiters = [];
      waiters.forEach((w) => w());
      if (!this.stopping) this.onUnexpectedExit?.(code, signal);
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`postgres exited during startup: ${lastLines(log)}`);
      // postmaster.pid's status line says when connections are accepted; polling it instead of
      // connecting keeps "the database system is starting up" noise out of the logs.
      const status = readFileIfExists(join(this.pgdata, 'postmaster.pid'))?.split('\n')[7]?.trim();
      if ((status === 'ready' || status === 'standby') && (await this.ping())) return;
      await sleep(50);
    }
    throw new Error('postgres did not accept connections in time');
  }

  /** Waits for the postmaster to exit by itself (e.g. a recovery that FATALs). */
  waitExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((r) => this.exitWaiters.push(r));
  }

  /** Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL of the group. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    this.stopping = true;
    const exited = this.waitExit();
    child.kill('SIGINT');
    if (await Promise.race([exited.then(() => true), sleep(timeoutMs).then(() => false)])) return;
    child.kill('SIGQUIT');
    if (await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) return;
    killGroup(child, 'SIGKILL');
    await exited;
  }

  releaseSocketDir(): void {
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
    this.socketDir = '';
  }

  async ping(): Promise<boolean> {
    try {
      await this.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** SQL as the superuser over the unix socket (trust: the operator is the pod's local user). */
  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    if (!this.socketDir || this.exited) throw new Error('postgres is not running');
    const client = new pg.Client({
      host: this.socketDir,
      port: this.port,
      user: 'postgres',
      database,
      connectionTimeoutMillis: 5000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const r = await client.query<T>(sql, params);
      return r.rows;
    } finally {
      await client.end().catch(() => {});
    }
  }
}

function lastLines(text: string, n = 8): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

export function readFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
