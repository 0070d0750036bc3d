// live-counts: replica: exact counts on a streaming replica of the live cluster, never on the
// primary. The session is checked to be in recovery (a failover may have promoted the pod
// between reading the Cluster's status and connecting).
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import type { Cluster } from '../cnpg/types.js';
import {
  connectToReplica,
  type ClusterConnection,
  type ClusterConnectionOptions,
} from '../postgres/cluster-connection.js';
import { ReadOnlyDb, type ReadOnlyOptions } from '../postgres/readonly.js';

export interface ReplicaSession {
  conn: ClusterConnection;
  db: ReadOnlyDb;
}

export async function openReplicaSession(
  core: Pick<Core, 'setSecret'>,
  clients: KubeClients,
  live: Cluster,
  conn: ClusterConnectionOptions,
  db: ReadOnlyOptions,
): Promise<ReplicaSession> {
  const c = await connectToReplica(core, clients, live, conn);
  const session = new ReadOnlyDb(c.conn, db);
  try {
    const [{ standby }] = await session.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    if (!standby)
      throw new Error(
        `instance ${c.pod} is not a replica any more (pg_is_in_recovery() is false): live-counts ` +
          `replica never counts on the primary; rerun the drill once the cluster is stable.`,
      );
  } catch (err) {
    await session.close().catch(() => {});
    await c.close().catch(() => {});
    throw err;
  }
  return { conn: c, db: session };
}
