// The shared variant's server: one CNPG Cluster in the add-ons namespace, created on first
// use, reached for administration through a port-forward to its primary as the superuser.
// It is removed by sync.ts only when no association uses it any more.
import { getCluster } from '../../cnpg/api.js';
import { CNPG_GROUP, CNPG_VERSION, Plural, type Cluster } from '../../cnpg/types.js';
import { connectToPrimary, superuserSecretName } from '../../postgres/cluster-connection.js';
import { Labels } from '../association.js';
import { imageFor, type SyncConfig } from '../config.js';
import type { BackendContext } from './backend.js';
import { createIfAbsent, waitHealthy } from './cluster-ops.js';
import { sqlDatabaseBackend, type SqlServer } from './sql-database.js';
import { ManagedBy } from '../../labels.js';

export function sharedClusterManifest(config: SyncConfig): Cluster & { metadata: { name: string } } {
  return {
    apiVersion: `${CNPG_GROUP}/${CNPG_VERSION}`,
    kind: 'Cluster',
    metadata: {
      name: config.sharedCluster,
      namespace: config.addonsNamespace,
      labels: { [Labels.managedBy]: ManagedBy.addonSync, [Labels.component]: 'shared-cluster' },
    },
    spec: {
      instances: 1,
      imageName: imageFor(config, undefined),
      enableSuperuserAccess: true,
      storage: { size: config.sharedStorage, ...(config.storageClass ? { storageClass: config.storageClass } : {}) },
    },
  };
}

export const sharedServer: SqlServer = {
  id: (config) => `shared:${config.sharedCluster}`,

  async ensure(ctx: BackendContext) {
    await createIfAbsent(ctx.clients, ctx.config.addonsNamespace, Plural.clusters, sharedClusterManifest(ctx.config));
  },

  async admin(ctx: BackendContext) {
    const ns = ctx.config.addonsNamespace;
    if (!(await getCluster(ctx.clients, ns, ctx.config.sharedCluster))) return undefined;
    const cluster = await waitHealthy(ctx, ns, ctx.config.sharedCluster);
    // An existing shared cluster may name its own superuser secret; without superuser access CNPG disables that role.
    if (!cluster.spec.enableSuperuserAccess)
      throw new Error(
        `Cluster ${ns}/${cluster.metadata.name} has enableSuperuserAccess off: addon-sync ` +
          `needs it to create databases and roles (set spec.enableSuperuserAccess: true).`,
      );
    const c = await connectToPrimary(ctx.core, ctx.clients, cluster, {
      mode: 'port-forward',
      secretName: superuserSecretName(cluster),
      database: 'postgres',
    });
    return { conn: c.conn, close: () => c.close() };
  },

  async endpoint(ctx: BackendContext) {
    return { host: `${ctx.config.sharedCluster}-rw.${ctx.config.addonsNamespace}.svc`, port: 5432 };
  },
};

export const shared = sqlDatabaseBackend(sharedServer);
