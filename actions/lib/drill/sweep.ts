// Sweeps drill clusters that outlived the TTL (a cancelled run whose post step never ran).
// Only clusters carrying this action's labels and creation annotation are candidates.
import type { KubeClients } from '../kube/client.js';
import { listClusters } from '../cnpg/api.js';
import type { RetryOptions } from '../kube/retry.js';
import type { Cluster } from '../cnpg/types.js';
import { CREATED_AT_ANNOTATION, DRILL_SELECTOR } from './recovery-manifest.js';
import { isDrillCluster, teardownCluster, type TeardownResult } from './teardown.js';

/** Drill clusters older than the TTL (by the drill's annotation, else creationTimestamp). */
export function expiredDrillClusters(clusters: Cluster[], now: number, ttlMs: number, keep?: string): Cluster[] {
  return clusters.filter((c) => {
    if (!isDrillCluster(c) || c.metadata.name === keep) return false;
    const created = Date.parse(c.metadata.annotations?.[CREATED_AT_ANNOTATION] ?? c.metadata.creationTimestamp ?? '');
    return Number.isFinite(created) && now - created > ttlMs;
  });
}

export async function sweepExpired(
  clients: KubeClients,
  namespace: string,
  opts: {
    ttlMs: number;
    keep?: string;
    deadline: number;
    signal?: AbortSignal;
    retry?: RetryOptions;
    log: (l: string) => void;
  },
): Promise<TeardownResult[]> {
  const clusters = await listClusters(clients, namespace, DRILL_SELECTOR, opts.retry);
  const expired = expiredDrillClusters(clusters, Date.now(), opts.ttlMs, opts.keep);
  const results: TeardownResult[] = [];
  for (const c of expired) {
    opts.log(
      `Sweeping expired drill cluster ${namespace}/${c.metadata.name} ` +
        `(created ${c.metadata.annotations?.[CREATED_AT_ANNOTATION] ?? c.metadata.creationTimestamp})`,
    );
    results.push(
      await teardownCluster(clients, namespace, c.metadata.name, {
        deadline: opts.deadline,
        signal: opts.signal,
        retry: opts.retry,
        log: opts.log,
      }),
    );
  }
  return results;
}
