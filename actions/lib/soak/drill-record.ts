// Gate 6's evidence: the record cnpg-restore-drill keeps in the cluster (ConfigMap
// `cnpg-restore-drill-<cluster>`, key `drills`: a JSON array, newest last). The format and
// its parser are the shared contract (actions/lib/contracts/drill-record.ts); this reads and judges it.
import { HISTORY_KEY, historyConfigMapName, parseHistory, type DrillRecord } from '../contracts/drill-record.js';
import type { KubeClients } from '../kube/client.js';
import { readConfigMap } from '../kube/configmap-key.js';

export type DrillEntry = DrillRecord;

/** undefined: there is no record at all (no ConfigMap). */
export async function readDrillRecord(
  clients: KubeClients,
  namespace: string,
  cluster: string,
): Promise<DrillEntry[] | undefined> {
  const cm = await readConfigMap(clients, namespace, historyConfigMapName(cluster));
  return cm ? sortByTime(parseHistory(cm.data?.[HISTORY_KEY])) : undefined;
}

/** Newest last as written, but ordered by time so a clock-skewed writer cannot hide a failure. */
export function sortByTime(entries: DrillEntry[]): DrillEntry[] {
  return entries
    .filter((e) => Number.isFinite(Date.parse(e.time)))
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

export interface DrillJudgement {
  passed: boolean;
  /** The newest drill that judged the backup (passed or failed). */
  latest?: DrillEntry;
  ageMs?: number;
  problem?: string;
  /** Drills after `latest` that could not judge (verdict 'error'): no evidence either way. */
  errorsSince?: DrillEntry[];
}

/**
 * The newest drill that judged must have passed and be no older than maxAgeMs: a newer failure
 * outranks an older pass. A drill error (the drill could not judge) is no new evidence: it neither
 * blocks nor refreshes, so the drill before it still decides.
 */
export function judgeDrill(entries: DrillEntry[] | undefined, now: Date, maxAgeMs: number): DrillJudgement {
  if (entries === undefined) return { passed: false, problem: 'no drill record' };
  let at = entries.length - 1;
  while (at >= 0 && entries[at].verdict === 'error') at--;
  const errorsSince = entries.slice(at + 1);
  const errors = errorsSince.length ? { errorsSince } : {};
  const latest = entries[at];
  if (!latest) {
    const why = errorsSince.length ? ` (${errorsSince.length} drill error(s), which judge nothing)` : '';
    return { passed: false, problem: `no drill in the record${why}`, ...errors };
  }
  const ageMs = now.getTime() - Date.parse(latest.time);
  if (latest.verdict !== 'passed') {
    const why = latest.reasons?.length ? `: ${latest.reasons.join('; ')}` : '';
    return { passed: false, latest, ageMs, problem: `latest drill failed${why}`, ...errors };
  }
  if (ageMs > maxAgeMs) return { passed: false, latest, ageMs, problem: 'latest passing drill is stale', ...errors };
  return { passed: true, latest, ageMs, ...errors };
}
