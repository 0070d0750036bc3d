// Gate 6's evidence: the record cnpg-restore-drill keeps in the cluster (ConfigMap
// `cnpg-restore-drill-<cluster>`, key `drills`: a JSON array, newest last) and, optionally,
// the latest successful run of the drill workflow on GitHub.
import type { KubeClients } from '../kube/client.js';
import { statusOf, withRetry } from '../kube/retry.js';

export interface DrillEntry {
  time: string;
  verdict: 'passed' | 'failed';
  reasons: string[];
  rtoSeconds?: number;
  rpoSeconds?: number;
  backupId?: string;
  recoveryCluster?: string;
  runUrl?: string;
}

export const drillRecordName = (cluster: string) => `cnpg-restore-drill-${cluster}`;
export const DRILLS_KEY = 'drills';

export interface DrillRecord {
  /** undefined: no ConfigMap. */
  entries?: DrillEntry[];
  problem?: string;
}

export async function readDrillRecord(clients: KubeClients, namespace: string, cluster: string): Promise<DrillRecord> {
  const name = drillRecordName(cluster);
  try {
    const cm = await withRetry(`read configmap ${namespace}/${name}`, () => clients.core.readNamespacedConfigMap({ name, namespace }));
    return parseDrills(cm.data?.[DRILLS_KEY]);
  } catch (err) {
    if (statusOf(err) === 404) return {};
    throw err;
  }
}

export function parseDrills(text: string | undefined): DrillRecord {
  if (!text) return { entries: [], problem: `key '${DRILLS_KEY}' is empty` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { entries: [], problem: `key '${DRILLS_KEY}' is not JSON` };
  }
  if (!Array.isArray(doc)) return { entries: [], problem: `key '${DRILLS_KEY}' is not a JSON array` };
  const entries = doc.filter(
    (d): d is DrillEntry => !!d && typeof d === 'object' && Number.isFinite(Date.parse(d.time)) && (d.verdict === 'passed' || d.verdict === 'failed'),
  );
  const bad = doc.length - entries.length;
  // Newest last as written, but order by time so a clock-skewed writer cannot hide a failure.
  entries.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return { entries, ...(bad ? { problem: `${bad} malformed entr${bad === 1 ? 'y' : 'ies'} ignored` } : {}) };
}

export interface DrillJudgement {
  passed: boolean;
  latest?: DrillEntry;
  ageMs?: number;
  problem?: string;
}

/** The newest drill must have passed and be no older than maxAgeMs: a newer failure outranks an older pass. */
export function judgeDrill(record: DrillRecord, now: Date, maxAgeMs: number): DrillJudgement {
  if (record.entries === undefined) return { passed: false, problem: 'no drill record' };
  const latest = record.entries.at(-1);
  if (!latest) return { passed: false, problem: `no drill in the record${record.problem ? ` (${record.problem})` : ''}` };
  const ageMs = now.getTime() - Date.parse(latest.time);
  if (latest.verdict !== 'passed') {
    const why = latest.reasons?.length ? `: ${latest.reasons.join('; ')}` : '';
    return { passed: false, latest, ageMs, problem: `latest drill failed${why}` };
  }
  if (ageMs > maxAgeMs) return { passed: false, latest, ageMs, problem: 'latest passing drill is stale' };
  return { passed: true, latest, ageMs };
}
