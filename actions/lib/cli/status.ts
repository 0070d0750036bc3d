// `status`: the fleet from the drill records (contracts/drill-record.ts), one row per drilled
// cluster across namespaces (or one namespace): last drill, result, RTO, RPO, age, last pass; plus
// one row per drill-enabled Cluster (the fleet template's label selector) never drilled.
// With a maximum age, a cluster whose last passing drill is older (or that never passed) is stale.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { CNPG_GROUP, CNPG_VERSION, Plural } from '../cnpg/types.js';
import {
  HISTORY_KEY,
  HISTORY_LABEL,
  HISTORY_NAMESPACE_LABEL,
  parseHistory,
  type DrillRecord,
} from '../contracts/drill-record.js';
import { parseDuration } from '../inputs.js';
import type { KubeClients } from '../kube/client.js';
import { statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
import { UsageError } from './args.js';

export interface FleetRow {
  namespace: string;
  cluster: string;
  last?: DrillRecord;
  /** Where the record is kept when not next to the cluster (a sandbox or DR site's namespace). */
  recordedIn?: string;
  lastPassed?: string;
  /** A drill-enabled Cluster with no drill record. */
  never?: true;
  /** No passing drill within the maximum age. */
  stale: boolean;
}

/** The Clusters `status` expects a drill of (workflows/cnpg-restore-drill-fleet.yml's default DRILL_SELECTOR). */
export const DRILL_ENABLED_SELECTOR = 'cnpg-actions.io/drill=enabled';

/** Shipped least-privilege rules for `status` (ConfigMaps and Clusters, list only). */
export const STATUS_RBAC = 'workflows/rbac/cnpg-restore-drill-status.yaml';

export async function readFleet(
  clients: KubeClients,
  opts: { namespace?: string; maxAge?: string; selector?: string; now?: number; retry?: RetryOptions },
): Promise<FleetRow[]> {
  const maxAgeMs = opts.maxAge === undefined ? undefined : parseDuration(opts.maxAge);
  if (maxAgeMs === undefined && opts.maxAge !== undefined)
    throw new UsageError(`--max-age '${opts.maxAge}' is not a duration; use e.g. 8d, 36h`);
  const { namespace, retry } = opts;
  const records = { labelSelector: HISTORY_LABEL };
  const list = await withRetry(
    'list drill records',
    () =>
      namespace
        ? clients.core.listNamespacedConfigMap({ namespace, ...records })
        : clients.core.listConfigMapForAllNamespaces(records),
    retry,
  ).catch(refused('ConfigMaps (the drill records)', namespace));
  const enabled = { group: CNPG_GROUP, version: CNPG_VERSION, plural: Plural.clusters };
  const labelSelector = opts.selector ?? DRILL_ENABLED_SELECTOR;
  const clusters = (await withRetry(
    `list clusters labelled ${labelSelector}`,
    () =>
      namespace
        ? clients.custom.listNamespacedCustomObject({ ...enabled, namespace, labelSelector })
        : clients.custom.listClusterCustomObject({ ...enabled, labelSelector }),
    retry,
  ).catch(refused(`clusters.postgresql.cnpg.io (the drill-enabled ones, ${labelSelector})`, namespace))) as {
    items: { metadata?: { namespace?: string; name?: string } }[];
  };
  const names = clusters.items.map((c) => ({
    namespace: c.metadata?.namespace ?? '',
    cluster: c.metadata?.name ?? '',
  }));
  return fleetRows(list.items, names, maxAgeMs, opts.now ?? Date.now());
}

/** A 403 names what `status` lists and the shipped rules that grant it; anything else is rethrown. */
const refused = (what: string, namespace?: string) => (err: unknown) => {
  if (statusOf(err) !== 403) throw err;
  const where = namespace ? `in namespace ${namespace}` : 'across namespaces';
  throw new Error(`status may not list ${what} ${where} (403): grant list on them, e.g. ${STATUS_RBAC}`, {
    cause: err,
  });
};

/** One row per drilled cluster (its records merged), then one per enabled cluster never drilled, sorted. */
export function fleetRows(
  records: V1ConfigMap[],
  enabled: { namespace: string; cluster: string }[],
  maxAgeMs: number | undefined,
  now: number,
): FleetRow[] {
  const stale = (lastPassed?: string) =>
    maxAgeMs !== undefined && (!lastPassed || now - Date.parse(lastPassed) > maxAgeMs);
  const byCluster = new Map<string, { namespace: string; cluster: string; drills: DrillRecord[]; kept: string[] }>();
  for (const cm of records) {
    const labels = cm.metadata?.labels ?? {};
    const kept = cm.metadata?.namespace ?? '';
    // A record kept at a sandbox or DR site names its cluster's namespace (records before v1.1 do not).
    const namespace = labels[HISTORY_NAMESPACE_LABEL] ?? kept;
    const cluster = labels[HISTORY_LABEL] ?? '';
    const row = byCluster.get(`${namespace}/${cluster}`) ?? { namespace, cluster, drills: [], kept: [] };
    row.drills.push(...parseHistory(cm.data?.[HISTORY_KEY]));
    if (kept !== namespace) row.kept.push(kept);
    byCluster.set(`${namespace}/${cluster}`, row);
  }
  const rows: FleetRow[] = [...byCluster.values()].map(({ namespace, cluster, drills, kept }) => {
    drills.sort((a, b) => a.time.localeCompare(b.time));
    const lastPassed = drills.filter((d) => d.verdict === 'passed').at(-1)?.time;
    const recordedIn = kept.length ? { recordedIn: kept.join(', ') } : {};
    return { namespace, cluster, ...recordedIn, last: drills.at(-1), lastPassed, stale: stale(lastPassed) };
  });
  for (const c of enabled)
    if (!byCluster.has(`${c.namespace}/${c.cluster}`)) rows.push({ ...c, never: true, stale: stale(undefined) });
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.cluster.localeCompare(b.cluster));
}

const age = (iso: string | undefined, now: number) => {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
};

/** The fleet as a Markdown table: readable in a terminal, and a job summary as it is. */
export function fleetTable(rows: FleetRow[], now = Date.now()): string {
  const head = ['Namespace', 'Cluster', 'Last drill', 'Result', 'RTO s', 'RPO s', 'Age', 'Last passed', 'Stale'];
  const lines = rows.map((r) => [
    r.namespace,
    r.cluster,
    r.never ? 'never' : (r.last?.time ?? '-'),
    r.last?.verdict ?? '-',
    String(r.last?.rtoSeconds ?? '-'),
    String(r.last?.rpoSeconds ?? '-'),
    age(r.last?.time, now),
    age(r.lastPassed, now),
    r.stale ? 'STALE' : '',
  ]);
  return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n') + '\n';
}
