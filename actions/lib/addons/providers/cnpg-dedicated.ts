// Dedicated variants (small / medium / large): one CNPG Cluster per app in the add-ons
// namespace, database and owner named by the reference rules, optional backups to an object
// store with a six-field ScheduledBackup. Storage grows in place; it never shrinks.
import { Plural, CNPG_GROUP, CNPG_VERSION, type Cluster, type ScheduledBackup } from '../../cnpg/types.js';
import { getCluster } from '../../cnpg/api.js';
import { readSecret } from '../../kube/secrets.js';
import { Labels } from '../association.js';
import { imageFor, type SyncConfig } from '../config.js';
import { kubeNameFor, sqlNameFor } from '../naming.js';
import type { Association, OwnedResource, VariantSpec } from '../types.js';
import type { BackendImpl } from './backend.js';
import { createIfAbsent, deleteClusterAndWait, deleteCustom, mergePatchCluster, waitHealthy } from './cluster-ops.js';
import { ManagedBy } from '../../labels.js';

export const RETAINED_LABEL = 'cnpg-actions.io/retained';

export const dedicatedClusterName = (app: string) => kubeNameFor(app, 'pg');

export const dedicated: BackendImpl = {
  resources(config, app) {
    const name = dedicatedClusterName(app);
    const out: OwnedResource[] = [{ kind: 'Cluster', namespace: config.addonsNamespace, name }];
    if (config.backup) out.push({ kind: 'ScheduledBackup', namespace: config.addonsNamespace, name: `${name}-daily` });
    return out;
  },

  async provision(ctx, a, variant) {
    const ns = ctx.config.addonsNamespace;
    const cluster = clusterManifest(ctx.config, a, variant);
    const result = await createIfAbsent(ctx.clients, ns, Plural.clusters, cluster);
    if (result === 'exists') {
      const existing = await getCluster(ctx.clients, ns, cluster.metadata.name);
      const owner = existing?.metadata.labels?.[Labels.app];
      if (owner && owner !== a.app)
        throw new Error(`Cluster ${ns}/${cluster.metadata.name} belongs to app '${owner}', not '${a.app}'.`);
      // A cluster retained by an earlier removal (reclaim: retain) is re-attached with its data.
      if (existing?.metadata.labels?.[RETAINED_LABEL]) {
        ctx.log(`re-attaching retained Cluster ${ns}/${cluster.metadata.name}`);
        await mergePatchCluster(ctx.clients, ns, cluster.metadata.name, {
          metadata: { labels: { [RETAINED_LABEL]: null } },
        });
      }
    }
    if (ctx.config.backup) {
      const sb: ScheduledBackup = {
        apiVersion: `${CNPG_GROUP}/${CNPG_VERSION}`,
        kind: 'ScheduledBackup',
        metadata: { name: `${cluster.metadata.name}-daily`, namespace: ns, labels: cluster.metadata.labels },
        spec: {
          schedule: ctx.config.backup.schedule,
          cluster: { name: cluster.metadata.name },
          backupOwnerReference: 'self',
          immediate: false,
        },
      };
      await createIfAbsent(ctx.clients, ns, Plural.scheduledBackups, sb);
    }
  },

  async waitUsable(ctx, a) {
    const ns = ctx.config.addonsNamespace;
    const name = dedicatedClusterName(a.app);
    await waitHealthy(ctx, ns, name);
    const secret = await readSecret(ctx.core, ctx.clients, ns, `${name}-app`);
    if (!secret.username || !secret.password) throw new Error(`Secret ${ns}/${name}-app has no username/password yet.`);
    return {
      host: `${name}-rw.${ns}.svc`,
      port: 5432,
      user: secret.username,
      password: secret.password,
      database: secret.dbname || sqlNameFor(a.app),
    };
  },

  async resize(ctx, a, to) {
    const ns = ctx.config.addonsNamespace;
    const name = dedicatedClusterName(a.app);
    await mergePatchCluster(ctx.clients, ns, name, {
      spec: { instances: to.instances, storage: { size: `${to.storageGi}Gi` } },
    });
    await waitHealthy(ctx, ns, name);
  },

  async deprovision(ctx, a) {
    const ns = ctx.config.addonsNamespace;
    const name = dedicatedClusterName(a.app);
    if (ctx.config.reclaim === 'retain') {
      // Keep the data: the Cluster (and its backups) stay, labelled as detached from any app.
      const existing = await getCluster(ctx.clients, ns, name);
      if (existing)
        await mergePatchCluster(ctx.clients, ns, name, { metadata: { labels: { [RETAINED_LABEL]: 'true' } } });
      return;
    }
    // ScheduledBackups are not garbage-collected with their Cluster (cnpg.md): delete it first.
    for (const r of a.resources)
      if (r.kind === 'ScheduledBackup') await deleteCustom(ctx.clients, ns, Plural.scheduledBackups, r.name);
    await deleteClusterAndWait(ctx, ns, name);
  },
};

function clusterManifest(
  config: SyncConfig,
  a: Association,
  variant: VariantSpec,
): Cluster & { metadata: { name: string; labels: Record<string, string> } } {
  const name = dedicatedClusterName(a.app);
  const db = sqlNameFor(a.app);
  const cluster: Cluster & { metadata: { name: string; labels: Record<string, string> } } = {
    apiVersion: `${CNPG_GROUP}/${CNPG_VERSION}`,
    kind: 'Cluster',
    metadata: {
      name,
      namespace: config.addonsNamespace,
      labels: {
        [Labels.managedBy]: ManagedBy.addonSync,
        [Labels.app]: a.app,
        [Labels.addon]: a.addon,
        [Labels.component]: 'dedicated-cluster',
      },
    },
    spec: {
      instances: variant.instances,
      imageName: imageFor(config, a.version),
      storage: {
        size: `${variant.storageGi}Gi`,
        ...(config.storageClass ? { storageClass: config.storageClass } : {}),
      },
      bootstrap: { initdb: { database: db, owner: db } },
    },
  };
  if (config.backup) {
    const b = config.backup;
    cluster.spec.backup = {
      barmanObjectStore: {
        destinationPath: b.destinationPath,
        serverName: name,
        ...(b.endpointURL ? { endpointURL: b.endpointURL } : {}),
        ...(b.credentialsSecret
          ? {
              s3Credentials: {
                accessKeyId: { name: b.credentialsSecret, key: 'ACCESS_KEY_ID' },
                secretAccessKey: { name: b.credentialsSecret, key: 'ACCESS_SECRET_KEY' },
              },
            }
          : {}),
      },
    };
  }
  return cluster;
}
