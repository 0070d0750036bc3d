// The drill's outcome, recorded in the cluster next to the source so gates can read it
// (soak-gate-check: "a passing restore drill"). The format is the shared contract in
// actions/lib/contracts/drill-record.ts. Written with optimistic concurrency (resourceVersion):
// a concurrent writer means re-read and retry.
import {
  HISTORY_KEY,
  HISTORY_LABEL,
  HISTORY_NAMESPACE_LABEL,
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

type Source = { namespace: string; cluster: string };

/** The record of `live` kept in `namespace` (the site's: another than live's at a sandbox or DR site). */
export const recordName = (namespace: string, live: Source) =>
  historyConfigMapName(live.cluster, namespace === live.namespace ? undefined : live.namespace);

export async function recordDrill(
  clients: KubeClients,
  namespace: string,
  live: Source,
  record: DrillRecord,
  size: number,
  retry?: RetryOptions,
): Promise<DrillRecord[]> {
  let drills: DrillRecord[] = [];
  await updateConfigMapKey(
    clients,
    {
      namespace,
      name: recordName(namespace, live),
      labels: {
        [MANAGED_BY_LABEL]: ManagedBy.drill,
        [HISTORY_LABEL]: live.cluster,
        [HISTORY_NAMESPACE_LABEL]: live.namespace,
      },
    },
    HISTORY_KEY,
    (text) => JSON.stringify((drills = appendRecord(parseHistory(text), record, size))),
    { retry },
  );
  return drills;
}
