// The drill's outcome, recorded in the cluster next to the source so gates can read it
// (soak-gate-check: "a passing restore drill"). Format, stable for readers:
//
//   ConfigMap  <namespace>/cnpg-restore-drill-<source cluster>   (name truncated to 253)
//   labels     app.kubernetes.io/managed-by: cnpg-restore-drill
//              cnpg-actions.io/drill-history-of: <source cluster>
//   data.drills  JSON array, newest LAST, at most `history-size` entries, of
//     { time: ISO-8601 end of the drill, verdict: 'passed' | 'failed', reasons: string[],
//       rtoSeconds: number | null, rpoSeconds: number | null, backupId: string | null,
//       recoveryCluster: string, runUrl: string | null }
//
// Written with optimistic concurrency (resourceVersion): a concurrent writer means re-read and retry.
import type { KubeClients } from '../kube/client.js';
import { updateConfigMapKey } from '../kube/configmap-key.js';
import type { RetryOptions } from '../kube/retry.js';
import { MANAGED_BY } from './recovery-manifest.js';

export const HISTORY_LABEL = 'cnpg-actions.io/drill-history-of';
export const HISTORY_KEY = 'drills';

export interface DrillRecord {
  time: string;
  verdict: 'passed' | 'failed';
  reasons: string[];
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  backupId: string | null;
  recoveryCluster: string;
  runUrl: string | null;
}

export const historyConfigMapName = (cluster: string) => `cnpg-restore-drill-${cluster}`.slice(0, 253);

/** Parses `data.drills`; tolerant of a hand-edited map (bad entries dropped). */
export function parseHistory(text: string | undefined): DrillRecord[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.filter((r) => r && typeof r === 'object' && typeof r.time === 'string' && (r.verdict === 'passed' || r.verdict === 'failed')) : [];
  } catch {
    return [];
  }
}

export function appendRecord(history: DrillRecord[], record: DrillRecord, size: number): DrillRecord[] {
  // A retried write may find its own earlier attempt already stored: keep one copy.
  const others = history.filter((r) => !(r.time === record.time && r.recoveryCluster === record.recoveryCluster));
  return [...others, record].slice(-size);
}

export async function recordDrill(clients: KubeClients, namespace: string, cluster: string, record: DrillRecord, size: number, retry?: RetryOptions): Promise<DrillRecord[]> {
  let drills: DrillRecord[] = [];
  await updateConfigMapKey(
    clients,
    { namespace, name: historyConfigMapName(cluster), labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, [HISTORY_LABEL]: cluster } },
    HISTORY_KEY,
    (text) => JSON.stringify((drills = appendRecord(parseHistory(text), record, size))),
    { retry },
  );
  return drills;
}
