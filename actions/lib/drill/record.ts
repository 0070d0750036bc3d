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
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
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
  const name = historyConfigMapName(cluster);
  for (let attempt = 1; ; attempt++) {
    let current: V1ConfigMap | undefined;
    try {
      current = await withRetry(`read ConfigMap ${namespace}/${name}`, () => clients.core.readNamespacedConfigMap({ name, namespace }), retry);
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const drills = appendRecord(parseHistory(current?.data?.[HISTORY_KEY]), record, size);
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace,
        labels: { ...(current?.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': MANAGED_BY, [HISTORY_LABEL]: cluster },
        resourceVersion: current?.metadata?.resourceVersion,
      },
      data: { ...(current?.data ?? {}), [HISTORY_KEY]: JSON.stringify(drills) },
    };
    try {
      // A create that may have landed before a timeout is a 409 on retry: both are resolved by re-reading.
      if (current) await withRetry(`update ConfigMap ${namespace}/${name}`, () => clients.core.replaceNamespacedConfigMap({ name, namespace, body }), { ...retry, attempts: 1 });
      else await withRetry(`create ConfigMap ${namespace}/${name}`, () => clients.core.createNamespacedConfigMap({ namespace, body }), { ...retry, attempts: 1 });
      return drills;
    } catch (err) {
      const s = statusOf(err);
      const retryable = s === 409 || s === 429 || (s !== undefined && s >= 500);
      if (!retryable || attempt >= 6) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
