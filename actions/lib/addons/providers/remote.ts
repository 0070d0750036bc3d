// The remote provider's server: an existing external PostgreSQL given by an admin Secret
// (remote-admin-secret: keys host, port, username, password, optional dbname and sslmode).
// Apps connect to the same host and port; the server is never created or removed here.
import { readSecret } from '../../kube/secrets.js';
import type { BackendContext } from './backend.js';
import { sqlDatabaseBackend, type SqlServer } from './sql-database.js';

async function adminSecret(ctx: BackendContext) {
  const ref = ctx.config.remoteAdminSecret;
  if (!ref)
    throw new Error(
      `the postgresql-remote add-on needs the remote-admin-secret input (a Secret with host, port, username, password).`,
    );
  const s = await readSecret(ctx.core, ctx.clients, ref.namespace, ref.name);
  for (const key of ['host', 'username', 'password']) {
    if (!s[key]) throw new Error(`Secret ${ref.namespace}/${ref.name} (remote-admin-secret) has no '${key}' key.`);
  }
  return s;
}

export const remoteServer: SqlServer = {
  id: () => 'remote',
  async ensure() {},
  async admin(ctx) {
    const s = await adminSecret(ctx);
    const ssl = s.sslmode && s.sslmode !== 'disable' ? { rejectUnauthorized: s.sslmode === 'verify-full' } : false;
    return {
      conn: {
        host: s.host,
        port: Number(s.port || 5432),
        user: s.username,
        password: s.password,
        database: s.dbname || 'postgres',
        ssl,
      },
      close: async () => {},
    };
  },
  async endpoint(ctx) {
    const s = await adminSecret(ctx);
    return { host: s.host, port: Number(s.port || 5432) };
  },
};

export const remote = sqlDatabaseBackend(remoteServer);
