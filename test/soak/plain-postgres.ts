// A plain PostgreSQL server (the installed major) for tests (the external publisher of a soak): initdb and
// pg_ctl as the user PostgreSQL runs as (test/helpers/postgres-user.ts), listening on 127.0.0.1 at a free port, removed on stop().
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pgBin } from '../helpers/postgres-install.js';
import { giveToPostgres, spawnAs } from '../helpers/postgres-user.js';

const PG_BIN = pgBin();

// The postmaster pg_ctl starts inherits pg_ctl's stdio: pipes there would never reach EOF.
function asPostgres(cmd: string, args: string[], output: 'pipe' | 'ignore' = 'pipe'): string {
  return (
    execFileSync(`${PG_BIN}/${cmd}`, args, {
      ...spawnAs(),
      encoding: 'utf8',
      stdio: ['ignore', output, output],
    }) ?? ''
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class PlainPostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get pgdata() {
    return join(this.dir, 'data');
  }

  static async start(parameters: Record<string, string> = {}): Promise<PlainPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'plain-pg-'));
    giveToPostgres(dir);
    const server = new PlainPostgres(dir, await freePort());
    asPostgres('initdb', [
      '-D',
      server.pgdata,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    const conf: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(server.port),
      unix_socket_directories: dir,
      wal_level: 'logical',
      fsync: 'off',
      shared_buffers: '16MB',
      max_wal_senders: '10',
      max_replication_slots: '10',
      log_line_prefix: '%m [%p] app=%a user=%u ',
      ...parameters,
    };
    appendFileSync(
      join(server.pgdata, 'postgresql.conf'),
      Object.entries(conf)
        .map(([k, v]) => `${k} = '${v}'`)
        .join('\n') + '\n',
    );
    writeFileSync(join(server.pgdata, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
    asPostgres('pg_ctl', ['-D', server.pgdata, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'], 'ignore');
    return server;
  }

  /** SQL as the superuser over the unix socket. */
  async query<T extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const client = new pg.Client({ host: this.dir, port: this.port, user: 'postgres', database });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** A session held open (e.g. to keep a lock); end() it. */
  async session(database = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client({ host: this.dir, port: this.port, user: 'postgres', database });
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  reload(): void {
    asPostgres('pg_ctl', ['-D', this.pgdata, 'reload']);
  }

  log(): string {
    return execFileSync('cat', [join(this.dir, 'server.log')], { encoding: 'utf8' });
  }

  async stop(): Promise<void> {
    try {
      asPostgres('pg_ctl', ['-D', this.pgdata, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* not running */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
