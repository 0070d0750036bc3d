// A read-only database session on a cluster's primary, for the drill: the port-forward (or
// direct connection) and its ReadOnlyDb are registered for closing the moment they exist, so
// the final phases close them on every path (see pipeline.ts, `owned`).
import type { Cluster } from '../cnpg/types.js';
import { connectToPrimary, type ClusterConnection, type ConnectMode } from '../postgres/cluster-connection.js';
import { RESTORE_READ_SETTINGS } from '../postgres/full-read.js';
import { ReadOnlyDb, UNFILTERED_READ_SETTINGS } from '../postgres/readonly.js';
import type { PhaseContext } from './pipeline.js';
import { openReplicaSession } from './replica.js';

export interface Session {
  database: string;
  db: ReadOnlyDb;
  conn: ClusterConnection;
}

export const APPLICATION_NAME = 'cnpg-restore-drill';

/** What opening a session reads of a phase's context: the inputs named, and where to register it. */
type SessionContext<R extends 'connectionMode' | 'statementTimeoutMs' | 'countConcurrency' | 'credentialsSecret'> =
  Pick<PhaseContext<R>, 'core' | 'clients' | 'site' | 'owned' | 'inputs'>;

/** Opens one session on `cluster`'s primary; `secretName` undefined = the connection's default. */
export async function openSession(
  ctx: SessionContext<'connectionMode' | 'statementTimeoutMs' | 'countConcurrency'>,
  cluster: Cluster,
  database: string,
  secretName: string | undefined,
): Promise<Session> {
  const { inputs } = ctx;
  const conn = await connectToPrimary(ctx.core, ctx.clients, cluster, {
    mode: inputs.connectionMode,
    secretName,
    database,
  });
  ctx.owned.sessions.push(conn);
  const db = new ReadOnlyDb(conn.conn, {
    statementTimeoutMs: inputs.statementTimeoutMs,
    poolSize: inputs.countConcurrency,
    applicationName: APPLICATION_NAME,
    settings: UNFILTERED_READ_SETTINGS,
  });
  ctx.owned.sessions.push({ close: () => db.close() });
  return { database, db, conn };
}

/**
 * How the restore is reached: `direct` reaches `<recovery>-rw.<ns>.svc` only inside the live cluster's
 * network, so a recovery site in another Kubernetes cluster (recovery-kubeconfig) is port-forwarded.
 */
export function restoreConnectionMode(mode: ConnectMode, site: { remote: boolean }): ConnectMode {
  return site.remote ? 'port-forward' : mode;
}

/**
 * A session on the RESTORE's primary for reading it in full: parallel scans on, and every
 * statement bounded by the drill's deadline (`timeout` from the recovery cluster's creation)
 * rather than by statement-timeout, which protects live.
 */
export async function openRestoreSession(
  ctx: SessionContext<'connectionMode' | 'countConcurrency'>,
  cluster: Cluster,
  database: string,
  secretName: string,
  { deadline, timeoutMs }: { deadline: number; timeoutMs: number },
): Promise<Session> {
  const { inputs } = ctx;
  // Through the recovery site's API server (its own port-forward when that is another cluster).
  const conn = await connectToPrimary(ctx.core, ctx.site.clients, cluster, {
    mode: restoreConnectionMode(inputs.connectionMode, ctx.site),
    secretName,
    database,
    deadline,
  });
  ctx.owned.sessions.push(conn);
  const db = new ReadOnlyDb(conn.conn, {
    statementTimeoutMs: timeoutMs,
    poolSize: inputs.countConcurrency,
    applicationName: APPLICATION_NAME,
    settings: RESTORE_READ_SETTINGS,
    deadline,
  });
  ctx.owned.sessions.push({ close: () => db.close() });
  return { database, db, conn };
}

/** live-counts replica: a session on a replica of live (never the primary; replica.ts checks). */
export async function openLiveReplicaSession(
  ctx: SessionContext<'connectionMode' | 'statementTimeoutMs' | 'countConcurrency' | 'credentialsSecret'>,
  live: Cluster,
  database: string,
): Promise<Session> {
  const { inputs } = ctx;
  const s = await openReplicaSession(
    ctx.core,
    ctx.clients,
    live,
    { mode: inputs.connectionMode, secretName: inputs.credentialsSecret, database },
    {
      statementTimeoutMs: inputs.statementTimeoutMs,
      poolSize: inputs.countConcurrency,
      applicationName: APPLICATION_NAME,
      settings: UNFILTERED_READ_SETTINGS,
    },
  );
  ctx.owned.sessions.push(s.conn, { close: () => s.db.close() });
  return { database, ...s };
}

/** One session per database, in order. */
export async function openSessions(
  ctx: SessionContext<'connectionMode' | 'statementTimeoutMs' | 'countConcurrency'>,
  cluster: Cluster,
  databases: string[],
  secretName: string | undefined,
): Promise<Session[]> {
  const out: Session[] = [];
  for (const database of databases) out.push(await openSession(ctx, cluster, database, secretName));
  return out;
}

export async function closeSession(s: Session): Promise<void> {
  await s.db.close();
  await s.conn.close();
}
