// Administrative SQL on the platform's own add-on servers (the shared CNPG Cluster, or the
// remote server of the remote-admin-secret): create and drop one database and role per app.
// These are writes on purpose, so this is not ReadOnlyDb; every statement still has a
// timeout. Identifiers and values are quoted by the server: format('%I', $1) / format('%L', $2)
// with bound parameters, then the resulting utility statement runs (utility statements such
// as CREATE ROLE cannot take bind parameters themselves).
import pg from 'pg';
import { pgClientConfig } from '../postgres/client-config.js';
import type { ConnInfo } from '../postgres/conn-info.js';

export interface AdminOptions {
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
}

export class AdminSql {
  private constructor(private readonly client: pg.Client) {}

  static async connect(conn: ConnInfo, opts: AdminOptions): Promise<AdminSql> {
    const client = new pg.Client(
      pgClientConfig(conn, {
        applicationName: 'cnpg-actions-addon-sync',
        statementTimeoutMs: opts.statementTimeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs,
      }),
    );
    client.on('error', () => {
      /* surfaces on the next query */
    });
    await client.connect();
    return new AdminSql(client);
  }

  /** Builds a statement with server-side quoting of bound identifiers (%I) and literals (%L). */
  private async exec(template: string, params: string[]): Promise<void> {
    const placeholders = params.map((_, i) => `$${i + 1}::text`).join(', ');
    const { rows } = await this.client.query<{ sql: string }>(
      `SELECT format($${params.length + 1}::text, ${placeholders}) AS sql`,
      [...params, template],
    );
    await this.client.query(rows[0].sql);
  }

  async roleExists(name: string): Promise<boolean> {
    const { rowCount } = await this.client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    return (rowCount ?? 0) > 0;
  }

  async databaseExists(name: string): Promise<boolean> {
    const { rowCount } = await this.client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return (rowCount ?? 0) > 0;
  }

  /** Creates the login role, or resets its password to the stored one (idempotent). */
  async ensureRole(name: string, password: string): Promise<void> {
    if (await this.roleExists(name)) await this.exec('ALTER ROLE %I WITH LOGIN PASSWORD %L', [name, password]);
    else await this.exec('CREATE ROLE %I WITH LOGIN PASSWORD %L', [name, password]);
  }

  /** Creates the database owned by the role, closed to other roles (idempotent). */
  async ensureDatabase(name: string, owner: string): Promise<void> {
    if (!(await this.databaseExists(name))) await this.exec('CREATE DATABASE %I OWNER %I', [name, owner]);
    else await this.exec('ALTER DATABASE %I OWNER TO %I', [name, owner]);
    await this.exec('REVOKE ALL ON DATABASE %I FROM PUBLIC', [name]);
  }

  /** Ends the sessions of a database / role so it can be dropped. */
  async terminateConnections(database: string, role: string): Promise<number> {
    const { rowCount } = await this.client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname = $1 OR usename = $2)',
      [database, role],
    );
    return rowCount ?? 0;
  }

  async dropDatabase(name: string): Promise<void> {
    await this.exec('DROP DATABASE IF EXISTS %I', [name]);
  }

  async dropRole(name: string): Promise<void> {
    await this.exec('DROP ROLE IF EXISTS %I', [name]);
  }

  /** reclaim: retain keeps the data; the role can no longer log in with credentials the app had. */
  async disableLogin(name: string): Promise<void> {
    if (await this.roleExists(name)) await this.exec('ALTER ROLE %I WITH NOLOGIN', [name]);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
