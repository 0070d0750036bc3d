// The drill's outcome, recorded in the cluster next to the source so gates can read it
// (soak-gate-check: "a passing restore drill"). The format is the shared contract in
// actions/lib/contracts/drill-record.ts. Written with optimistic concurrency (resourceVersion):
// a concurrent writer means re-read and retry.
import {
  HISTORY_KEY,
  HISTORY_LABEL,
  historyConfigMapName,
  parseHistory,
  type DrillRecord,
} from '../contracts/drill-record.js';
import type { KubeClients } from '../kube/client.js';
import { updateConfigMapKey } from '../kube/configmap-key.js';
import type { RetryOptions } from '../kube/retry.js';
import { MANAGED_BY_LABEL, ManagedBy } from '../labels.js';

export { HISTORY_KEY, HISTORY_LABEL, historyConfigMapName, parseHistory, type DrillRecord };

export function appendRecord(history: DrillRecord[], record: DrillRecord, size: number): DrillRecord[] {
  // A retried write may find its own earlier attempt already stored: keep one copy.
  const others = history.filter((r) => !(r.time === record.time && r.recoveryCluster === record.recoveryCluster));
  return [...others, record].slice(-size);
}

export async function recordDrill(
  clients: KubeClients,
  namespace: string,
  cluster: string,
  record: DrillRecord,
  size: number,
  retry?: RetryOptions,
): Promise<DrillRecord[]> {
  let drills: DrillRecord[] = [];
  await updateConfigMapKey(
    clients,
    {
      namespace,
      name: historyConfigMapName(cluster),
      labels: { [MANAGED_BY_LABEL]: ManagedBy.drill, [HISTORY_LABEL]: cluster },
    },
    HISTORY_KEY,
    (text) => JSON.stringify((drills = appendRecord(parseHistory(text), record, size))),
    { retry },
  );
  return drills;
}
