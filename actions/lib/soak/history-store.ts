// The history lives in a ConfigMap `soak-gate-<cluster>-<subscription>` in the cluster's
// namespace: the only thing this action writes. Updates are read-modify-replace with the
// read resourceVersion (optimistic concurrency), so two overlapping runs never lose a sample.
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { statusOf, withRetry } from '../kube/retry.js';
import { parseHistory, type HistoryRecord } from './history.js';

export const HISTORY_KEY = 'history';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'cnpg-actions', 'app.kubernetes.io/component': 'soak-gate' } as const;

/** A valid ConfigMap name; a subscription name that is not one gets a hash suffix so names stay distinct. */
export function historyName(cluster: string, subscription: string): string {
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(subscription)) return `soak-gate-${cluster}-${subscription}`;
  const clean = subscription.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'sub';
  return `soak-gate-${cluster}-${clean}-${createHash('sha256').update(subscription).digest('hex').slice(0, 8)}`;
}

export interface HistoryTarget {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface StoredHistory {
  record: HistoryRecord;
  problem?: string;
  exists: boolean;
}

export async function readHistory(clients: KubeClients, target: HistoryTarget): Promise<StoredHistory> {
  const cm = await readConfigMap(clients, target);
  const parsed = parseHistory(cm?.data?.[HISTORY_KEY]);
  return { ...parsed, exists: !!cm };
}

/** Applies `update` to the stored record and writes it back, re-reading on a conflict. */
export async function updateHistory(
  clients: KubeClients,
  target: HistoryTarget,
  update: (current: HistoryRecord) => HistoryRecord,
  attempts = 6,
): Promise<{ record: HistoryRecord; created: boolean; conflicts: number; problem?: string }> {
  const { namespace, name } = target;
  for (let conflicts = 0; ; conflicts++) {
    const cm = await readConfigMap(clients, target);
    const parsed = parseHistory(cm?.data?.[HISTORY_KEY]);
    const record = update(parsed.record);
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace,
        labels: { ...cm?.metadata?.labels, ...target.labels },
        annotations: { ...cm?.metadata?.annotations, ...target.annotations },
        ...(cm ? { resourceVersion: cm.metadata?.resourceVersion } : {}),
      },
      data: { ...cm?.data, [HISTORY_KEY]: JSON.stringify(record) },
    };
    try {
      if (cm) await withRetry(`replace configmap ${namespace}/${name}`, () => clients.core.replaceNamespacedConfigMap({ name, namespace, body }));
      else await withRetry(`create configmap ${namespace}/${name}`, () => clients.core.createNamespacedConfigMap({ namespace, body }));
      return { record, created: !cm, conflicts, problem: parsed.problem };
    } catch (err) {
      // 409: someone else wrote (or created) it since our read; fold our sample into theirs.
      if (statusOf(err) !== 409 || conflicts + 1 >= attempts) throw err;
    }
  }
}

async function readConfigMap(clients: KubeClients, { namespace, name }: HistoryTarget): Promise<V1ConfigMap | undefined> {
  try {
    return await withRetry(`read configmap ${namespace}/${name}`, () => clients.core.readNamespacedConfigMap({ name, namespace }));
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}
