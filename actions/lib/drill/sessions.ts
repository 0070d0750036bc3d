// A read-only database session on a cluster's primary, for the drill: the port-forward (or
// direct connection) and its ReadOnlyDb are registered for closing the moment they exist, so
// the final phases close them on every path (see pipeline.ts, `owned`).
import type { Cluster } from '../cnpg/types.js';
import { connectToPrimary, type ClusterConnection } from '../postgres/cluster-connection.js';
import { ReadOnlyDb } from '../postgres/readonly.js';
import type { DrillContext } from './pipeline.js';

export interface Session {
  database: string;
  db: ReadOnlyDb;
  conn: ClusterConnection;
}

export const APPLICATION_NAME = 'cnpg-restore-drill';

/** Opens one session on `cluster`'s primary; `secretName` undefined = the connection's default. */
export async function openSession(ctx: DrillContext, cluster: Cluster, database: string, secretName: string | undefined, clients = ctx.clients): Promise<Session> {
  const { inputs } = ctx;
  const conn = await connectToPrimary(ctx.core, clients, cluster, { mode: inputs.connectionMode, secretName, database });
  ctx.owned.sessions.push(conn);
  const db = new ReadOnlyDb(conn.conn, { statementTimeoutMs: inputs.statementTimeoutMs, poolSize: inputs.countConcurrency, applicationName: APPLICATION_NAME });
  ctx.owned.sessions.push({ close: () => db.close() });
  return { database, db, conn };
}

/** One session per database, in order. */
export async function openSessions(ctx: DrillContext, cluster: Cluster, databases: string[], secretName: string | undefined): Promise<Session[]> {
  const out: Session[] = [];
  for (const database of databases) out.push(await openSession(ctx, cluster, database, secretName));
  return out;
}

export async function closeSession(s: Session): Promise<void> {
  await s.db.close();
  await s.conn.close();
}
