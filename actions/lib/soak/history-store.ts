// The history lives in a ConfigMap `soak-gate-<cluster>-<subscription>` in the cluster's
// namespace: the only thing this action writes. Updates are read-modify-replace with the
// read resourceVersion (optimistic concurrency), so two overlapping runs never lose a sample.
import { createHash } from 'node:crypto';
import type { KubeClients } from '../kube/client.js';
import { updateConfigMapKey } from '../kube/configmap-key.js';
import { parseHistory, type HistoryRecord } from './history.js';
import { COMPONENT_LABEL, MANAGED_BY_LABEL, ManagedBy } from '../labels.js';

export const HISTORY_KEY = 'history';
export const HISTORY_LABELS = { [MANAGED_BY_LABEL]: ManagedBy.soakGate, [COMPONENT_LABEL]: 'soak-gate' } as const;

/** A valid ConfigMap name; a subscription name that is not one gets a hash suffix so names stay distinct. */
export function historyName(cluster: string, subscription: string): string {
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(subscription)) return `soak-gate-${cluster}-${subscription}`;
  const clean =
    subscription
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'sub';
  return `soak-gate-${cluster}-${clean}-${createHash('sha256').update(subscription).digest('hex').slice(0, 8)}`;
}

export interface HistoryTarget {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Applies `update` to the stored record and writes it back, re-reading on a conflict. */
export async function updateHistory(
  clients: KubeClients,
  target: HistoryTarget,
  update: (current: HistoryRecord) => HistoryRecord,
  attempts = 6,
): Promise<{ record: HistoryRecord; created: boolean; conflicts: number; problem?: string }> {
  let record: HistoryRecord | undefined;
  let problem: string | undefined;
  // 409: someone else wrote (or created) it since our read; our sample is folded into theirs.
  const written = await updateConfigMapKey(
    clients,
    target,
    HISTORY_KEY,
    (text) => {
      const parsed = parseHistory(text);
      problem = parsed.problem;
      record = update(parsed.record);
      return JSON.stringify(record);
    },
    { attempts },
  );
  return { record: record!, created: written.created, conflicts: written.conflicts, problem };
}
