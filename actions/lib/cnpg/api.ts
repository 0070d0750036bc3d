// Reads and writes of CNPG objects through client-node's CustomObjectsApi, with retries.
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, withRetry, type RetryOptions } from '../kube/retry.js';
import {
  BARMAN_CLOUD_GROUP,
  BARMAN_CLOUD_VERSION,
  CNPG_GROUP,
  CNPG_VERSION,
  Label,
  Plural,
  type Backup,
  type Cluster,
  type ObjectStore,
} from './types.js';

export const clustersPath = (namespace: string) =>
  `/apis/${CNPG_GROUP}/${CNPG_VERSION}/namespaces/${namespace}/${Plural.clusters}`;

export async function getCluster(
  clients: KubeClients,
  namespace: string,
  name: string,
  retry?: RetryOptions,
): Promise<Cluster | undefined> {
  return ignoreNotFound(() =>
    withRetry(
      `get cluster ${namespace}/${name}`,
      () =>
        clients.custom.getNamespacedCustomObject({
          group: CNPG_GROUP,
          version: CNPG_VERSION,
          namespace,
          plural: Plural.clusters,
          name,
        }) as Promise<Cluster>,
      retry,
    ),
  );
}

export async function listClusters(
  clients: KubeClients,
  namespace: string,
  labelSelector?: string,
  retry?: RetryOptions,
): Promise<Cluster[]> {
  const list = (await withRetry(
    `list clusters in ${namespace}`,
    () =>
      clients.custom.listNamespacedCustomObject({
        group: CNPG_GROUP,
        version: CNPG_VERSION,
        namespace,
        plural: Plural.clusters,
        labelSelector,
      }),
    retry,
  )) as { items: Cluster[] };
  return list.items;
}

/** Backups of one cluster, newest first (by start time, else creation). */
export async function listBackups(
  clients: KubeClients,
  namespace: string,
  cluster: string,
  retry?: RetryOptions,
): Promise<Backup[]> {
  const list = (await withRetry(
    `list backups of ${namespace}/${cluster}`,
    () =>
      clients.custom.listNamespacedCustomObject({
        group: CNPG_GROUP,
        version: CNPG_VERSION,
        namespace,
        plural: Plural.backups,
      }),
    retry,
  )) as { items: Backup[] };
  // spec.cluster.name is the owner; the label is only set on some (scheduled) backups.
  const mine = list.items.filter(
    (b) => b.spec?.cluster?.name === cluster || b.metadata.labels?.[Label.cluster] === cluster,
  );
  const when = (b: Backup) => Date.parse(b.status?.startedAt ?? b.metadata.creationTimestamp ?? '') || 0;
  return mine.sort((a, b) => when(b) - when(a));
}

export async function getObjectStore(
  clients: KubeClients,
  namespace: string,
  name: string,
  retry?: RetryOptions,
): Promise<ObjectStore | undefined> {
  return ignoreNotFound(() =>
    withRetry(
      `get objectstore ${namespace}/${name}`,
      () =>
        clients.custom.getNamespacedCustomObject({
          group: BARMAN_CLOUD_GROUP,
          version: BARMAN_CLOUD_VERSION,
          namespace,
          plural: Plural.objectStores,
          name,
        }) as Promise<ObjectStore>,
      retry,
    ),
  );
}
