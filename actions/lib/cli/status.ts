// `status`: the fleet from the drill records (contracts/drill-record.ts), one row per drilled
// cluster across namespaces (or one namespace): last drill, result, RTO, RPO, age, last pass.
// With a maximum age, a cluster whose last passing drill is older (or that never passed) is stale.
import { HISTORY_KEY, HISTORY_LABEL, parseHistory, type DrillRecord } from '../contracts/drill-record.js';
import { parseDuration } from '../inputs.js';
import type { KubeClients } from '../kube/client.js';
import { withRetry, type RetryOptions } from '../kube/retry.js';
import { UsageError } from './args.js';

export interface FleetRow {
  namespace: string;
  cluster: string;
  last?: DrillRecord;
  lastPassed?: string;
  /** No passing drill within the maximum age. */
  stale: boolean;
}

export async function readFleet(
  clients: KubeClients,
  opts: { namespace?: string; maxAge?: string; now?: number; retry?: RetryOptions },
): Promise<FleetRow[]> {
  const maxAgeMs = opts.maxAge === undefined ? undefined : parseDuration(opts.maxAge);
  if (maxAgeMs === undefined && opts.maxAge !== undefined)
    throw new UsageError(`--max-age '${opts.maxAge}' is not a duration; use e.g. 8d, 36h`);
  const selector = { labelSelector: HISTORY_LABEL };
  const list = await withRetry(
    'list drill records',
    () =>
      opts.namespace
        ? clients.core.listNamespacedConfigMap({ namespace: opts.namespace, ...selector })
        : clients.core.listConfigMapForAllNamespaces(selector),
    opts.retry,
  );
  const now = opts.now ?? Date.now();
  return list.items
    .map((cm) => {
      const drills = parseHistory(cm.data?.[HISTORY_KEY]);
      const lastPassed = drills.filter((d) => d.verdict === 'passed').at(-1)?.time;
      const stale = maxAgeMs !== undefined && (!lastPassed || now - Date.parse(lastPassed) > maxAgeMs);
      const cluster = cm.metadata?.labels?.[HISTORY_LABEL] ?? '';
      return { namespace: cm.metadata?.namespace ?? '', cluster, last: drills.at(-1), lastPassed, stale };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.cluster.localeCompare(b.cluster));
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
    r.last?.time ?? '-',
    r.last?.verdict ?? '-',
    String(r.last?.rtoSeconds ?? '-'),
    String(r.last?.rpoSeconds ?? '-'),
    age(r.last?.time, now),
    age(r.lastPassed, now),
    r.stale ? 'STALE' : '',
  ]);
  return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n') + '\n';
}
