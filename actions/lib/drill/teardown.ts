// Teardown of a recovery cluster, idempotent and verified: foreground delete, then wait until the
// Cluster, its pods, jobs and PVCs are gone, and report what stays (a PV kept by a Retain
// reclaim policy would leak a production-sized volume every week).
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
import { watchUntil, WaitTimeout } from '../kube/watch.js';
import { clustersPath } from '../cnpg/api.js';
import { CNPG_GROUP, CNPG_VERSION, Label, Plural, type Cluster } from '../cnpg/types.js';
import { ManagedBy } from '../labels.js';
import { DrillLabel } from './recovery-manifest.js';

export interface TeardownResult {
  cluster: string;
  /** Everything is verified gone. */
  clean: boolean;
  /** What is still there (or could not be verified), one line each. */
  leftovers: string[];
  ms: number;
}

export interface TeardownOptions {
  deadline: number;
  signal?: AbortSignal;
  retry?: RetryOptions;
  log?: (line: string) => void;
}

/** Deletes only clusters carrying the drill's labels: never anything it did not create. */
export function isDrillCluster(c: Pick<Cluster, 'metadata'> | undefined): boolean {
  return c?.metadata.labels?.[DrillLabel.managedBy] === ManagedBy.drill && !!c?.metadata.labels?.[DrillLabel.drillOf];
}

export async function teardownCluster(clients: KubeClients, namespace: string, name: string, opts: TeardownOptions): Promise<TeardownResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const retry: RetryOptions = { attempts: 8, maxDelayMs: 2_000, ...opts.retry };
  const leftovers: string[] = [];
  const byCluster = `${Label.cluster}=${name}`;

  // Remember the claims first: after the PVC is gone, only the PV's claimRef names it.
  const claims = new Set<string>([`${name}-1`, `${name}-1-wal`]);
  const pvcs = await withRetry(`list PVCs of ${name}`, () => clients.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: byCluster }), retry).catch(() => undefined);
  for (const p of pvcs?.items ?? []) claims.add(p.metadata!.name!);

  const existing = (await ignoreNotFound(() =>
    withRetry(`read cluster ${namespace}/${name}`, () => clients.custom.getNamespacedCustomObject({ group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, name }), retry),
  )) as Cluster | undefined;
  if (existing && !isDrillCluster(existing)) {
    return { cluster: name, clean: false, leftovers: [`Cluster ${namespace}/${name} exists but is not labelled as a drill cluster: not deleting it`], ms: Date.now() - started };
  }
  if (existing) {
    log(`Deleting recovery cluster ${namespace}/${name} (foreground)`);
    await ignoreNotFound(() =>
      withRetry(
        `delete cluster ${namespace}/${name}`,
        () => clients.custom.deleteNamespacedCustomObject({ group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, name, propagationPolicy: 'Foreground' }),
        retry,
      ),
    );
  }

  const gone = async (what: string, path: string, selector: { labelSelector?: string; fieldSelector?: string }, list: () => Promise<{ items: unknown[]; resourceVersion?: string }>) => {
    try {
      await waitAllGone(clients, path, selector, what, list, opts);
    } catch (err) {
      if (err instanceof WaitTimeout) leftovers.push(`${what} still present after the teardown deadline`);
      else throw err;
    }
  };
  const listOf = (items: { metadata?: { name?: string } }[] | undefined, rv?: string) => ({ items: items ?? [], resourceVersion: rv });
  await gone(`Cluster ${namespace}/${name}`, clustersPath(namespace), { fieldSelector: `metadata.name=${name}` }, async () => {
    const c = (await clients.custom.listNamespacedCustomObject({ group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, fieldSelector: `metadata.name=${name}` })) as {
      items: unknown[];
      metadata?: { resourceVersion?: string };
    };
    return { items: c.items, resourceVersion: c.metadata?.resourceVersion };
  });
  await gone(`pods of ${name}`, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: byCluster }, async () => {
    const l = await clients.core.listNamespacedPod({ namespace, labelSelector: byCluster });
    return listOf(l.items, l.metadata?.resourceVersion);
  });
  await gone(`jobs of ${name}`, `/apis/batch/v1/namespaces/${namespace}/jobs`, { labelSelector: byCluster }, async () => {
    const l = await clients.batch.listNamespacedJob({ namespace, labelSelector: byCluster });
    return listOf(l.items, l.metadata?.resourceVersion);
  });
  await gone(`PVCs of ${name}`, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, { labelSelector: byCluster }, async () => {
    const l = await clients.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: byCluster });
    return listOf(l.items, l.metadata?.resourceVersion);
  });

  // Volumes outlive claims under a Retain reclaim policy: those are leaks.
  try {
    const pvs = await withRetry('list persistent volumes', () => clients.core.listPersistentVolume({}), retry);
    for (const pv of pvs.items as V1PersistentVolume[]) {
      const ref = pv.spec?.claimRef;
      if (ref?.namespace === namespace && ref.name && claims.has(ref.name)) {
        leftovers.push(
          `PersistentVolume ${pv.metadata?.name} (claim ${ref.name}) is ${pv.status?.phase ?? 'present'} with reclaim policy ${pv.spec?.persistentVolumeReclaimPolicy ?? 'unknown'}: delete it by hand`,
        );
      }
    }
  } catch (err) {
    const s = statusOf(err);
    leftovers.push(`could not verify persistent volumes (${s === 403 ? 'no permission to list persistentvolumes' : (err as Error).message})`);
  }
  return { cluster: name, clean: leftovers.length === 0, leftovers, ms: Date.now() - started };
}

/** Watches a collection until nothing matches the selector (a re-list after a dropped watch resets what is known). */
async function waitAllGone(
  clients: KubeClients,
  path: string,
  selector: { labelSelector?: string; fieldSelector?: string },
  what: string,
  list: () => Promise<{ items: unknown[]; resourceVersion?: string }>,
  opts: TeardownOptions,
): Promise<void> {
  const present = new Set<string>();
  const EMPTY = { __empty: true };
  await watchUntil(
    clients.kc,
    { path, ...selector },
    `${what} to be gone`,
    (type, obj) => {
      if (obj === EMPTY) return true;
      const name = (obj as { metadata?: { name?: string } }).metadata?.name ?? '';
      if (type === 'DELETED') present.delete(name);
      else present.add(name);
      return present.size === 0 ? true : undefined;
    },
    {
      deadline: opts.deadline,
      signal: opts.signal,
      list: async () => {
        const r = await list();
        present.clear();
        return r.items.length === 0 ? { items: [EMPTY] } : r;
      },
    },
  );
}
