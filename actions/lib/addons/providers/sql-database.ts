// The one-database-and-role-per-app backend, over a server that is either the shared CNPG
// Cluster or the remote server: credentials live in a Secret in the add-ons namespace
// (generated once with crypto.randomBytes, reused by re-runs), SQL goes through AdminSql.
import type { V1Secret } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { ignoreNotFound, statusOf, withRetry } from '../../kube/retry.js';
import { readSecret } from '../../kube/secrets.js';
import type { ConnInfo } from '../../postgres/conn-info.js';
import { AdminSql } from '../admin-sql.js';
import { associationName, Labels } from '../association.js';
import type { SyncConfig } from '../config.js';
import { sqlNameFor } from '../naming.js';
import type { Association, OwnedResource } from '../types.js';
import type { BackendContext, BackendImpl } from './backend.js';
import { ManagedBy } from '../../labels.js';

export interface AdminHandle {
  conn: ConnInfo;
  close(): Promise<void>;
}

export interface SqlServer {
  /** Recorded on owned Database/Role resources: `shared:<cluster>` or `remote`. */
  id(config: SyncConfig): string;
  /** Creates the server if this backend owns it (shared cluster on first use). */
  ensure(ctx: BackendContext): Promise<void>;
  /** Admin connection once the server is usable; undefined when the server no longer exists. */
  admin(ctx: BackendContext): Promise<AdminHandle | undefined>;
  /** host/port the app connects to. */
  endpoint(ctx: BackendContext): Promise<{ host: string; port: number }>;
}

export const credentialsSecretName = (app: string, addon: string) => `${associationName(app, addon)}-credentials`;

const STATEMENT_TIMEOUT_MS = 30_000;

export function sqlDatabaseBackend(server: SqlServer): BackendImpl {
  return {
    resources(config, app, addon) {
      const db = sqlNameFor(app);
      const where = server.id(config);
      return [
        { kind: 'Secret', namespace: config.addonsNamespace, name: credentialsSecretName(app, addon) },
        { kind: 'Database', name: db, server: where },
        { kind: 'Role', name: db, server: where },
      ] satisfies OwnedResource[];
    },

    async provision(ctx, a) {
      await server.ensure(ctx);
      await ensureCredentials(ctx, a);
    },

    waitUsable: (ctx, a) => ensureDatabaseAndRole(ctx, server, a),
    deprovision: (ctx, a) => dropDatabaseAndRole(ctx, server, a),
  };
}

/** The app's role (with the stored password) and database; returns what the app connects with. */
async function ensureDatabaseAndRole(ctx: BackendContext, server: SqlServer, a: Association): Promise<ConnInfo> {
  const name = sqlNameFor(a.app);
  const creds = await readSecret(
    ctx.core,
    ctx.clients,
    ctx.config.addonsNamespace,
    credentialsSecretName(a.app, a.addon),
  );
  await withAdmin(ctx, server, async (sql) => {
    await sql.ensureRole(name, creds.password);
    await sql.ensureDatabase(name, name);
  });
  const { host, port } = await server.endpoint(ctx);
  return { host, port, user: name, password: creds.password, database: name };
}

/** Drops the database and role (reclaim: retain only disables the login), then the credentials Secret. */
async function dropDatabaseAndRole(ctx: BackendContext, server: SqlServer, a: Association): Promise<void> {
  const name = sqlNameFor(a.app);
  await withAdmin(
    ctx,
    server,
    async (sql) => {
      if (ctx.config.reclaim === 'retain') {
        // Keep the data; the credentials the app had stop working.
        await sql.disableLogin(name);
        await sql.terminateConnections(name, name);
      } else {
        await sql.terminateConnections(name, name);
        await sql.dropDatabase(name);
        await sql.dropRole(name);
      }
    },
    { serverGone: 'skip' },
  );
  await withRetry(`delete credentials of ${a.app}/${a.addon}`, () =>
    ignoreNotFound(() =>
      ctx.clients.core.deleteNamespacedSecret({
        name: credentialsSecretName(a.app, a.addon),
        namespace: ctx.config.addonsNamespace,
      }),
    ),
  );
}

/** Runs fn on an admin session; the session and its port-forward are closed on every path. */
async function withAdmin(
  ctx: BackendContext,
  server: SqlServer,
  fn: (sql: AdminSql) => Promise<void>,
  opts: { serverGone?: 'skip' } = {},
): Promise<void> {
  const admin = await server.admin(ctx);
  if (!admin) {
    // A server that no longer exists holds no database or role of ours.
    if (opts.serverGone === 'skip') return;
    throw new Error(`the ${server.id(ctx.config)} server does not exist`);
  }
  try {
    const sql = await AdminSql.connect(admin.conn, { statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    try {
      await fn(sql);
    } finally {
      await sql.close();
    }
  } finally {
    await admin.close();
  }
}

async function ensureCredentials(ctx: BackendContext, a: Association): Promise<void> {
  const namespace = ctx.config.addonsNamespace;
  const name = credentialsSecretName(a.app, a.addon);
  const password = randomBytes(24).toString('base64url');
  ctx.core.setSecret(password);
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/basic-auth',
    metadata: {
      name,
      namespace,
      labels: {
        [Labels.managedBy]: ManagedBy.addonSync,
        [Labels.app]: a.app,
        [Labels.addon]: a.addon,
        [Labels.component]: 'credentials',
      },
    },
    stringData: { username: sqlNameFor(a.app), password },
  };
  try {
    await withRetry(`create credentials ${namespace}/${name}`, () =>
      ctx.clients.core.createNamespacedSecret({ namespace, body }),
    );
  } catch (err) {
    if (statusOf(err) !== 409) throw err; // exists: a re-run reuses the password it stored
  }
}
