// Teardown of a recovery cluster, idempotent and verified: foreground delete, then wait until the
// Cluster, its pods, jobs and PVCs are gone, then (bounded) that the provisioner removed their
// Delete-policy volumes, and report what stays (a PV kept by a Retain reclaim policy would leak a
// production-sized volume every week).
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describeError } from '../errors.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, sleep, statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
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
  /** Until when Delete-policy volumes are waited for (default: the deadline); a cancelled main leaves it to post. */
  volumeDeadline?: number;
  /** How often Delete-policy volumes are re-listed (default VOLUME_POLL_MS; a unit test's is shorter). */
  volumePollMs?: number;
  signal?: AbortSignal;
  retry?: RetryOptions;
  log?: (line: string) => void;
}

/** Deletes only clusters carrying the drill's labels: never anything it did not create. */
export function isDrillCluster(c: Pick<Cluster, 'metadata'> | undefined): boolean {
  return c?.metadata.labels?.[DrillLabel.managedBy] === ManagedBy.drill && !!c?.metadata.labels?.[DrillLabel.drillOf];
}

export async function teardownCluster(
  clients: KubeClients,
  namespace: string,
  name: string,
  opts: TeardownOptions,
): Promise<TeardownResult> {
  const started = Date.now();
  const retry: RetryOptions = { attempts: 8, maxDelayMs: 2_000, ...opts.retry };
  // Remember the claims first: after the PVC is gone, only the PV's claimRef names it.
  const claims = await claimsOf(clients, namespace, name, retry);
  const refusal = await deleteDrillCluster(clients, namespace, name, retry, opts.log ?? (() => {}));
  if (refusal) return { cluster: name, clean: false, leftovers: [refusal], ms: Date.now() - started };
  const leftovers = [
    ...(await waitDependentsGone(clients, namespace, name, opts)),
    ...(await volumesLeft(clients, namespace, claims, opts, retry)),
  ];
  return { cluster: name, clean: leftovers.length === 0, leftovers, ms: Date.now() - started };
}

async function claimsOf(
  clients: KubeClients,
  namespace: string,
  name: string,
  retry: RetryOptions,
): Promise<Set<string>> {
  const claims = new Set<string>([`${name}-1`, `${name}-1-wal`]);
  const labelSelector = `${Label.cluster}=${name}`;
  const pvcs = await withRetry(
    `list PVCs of ${name}`,
    () => clients.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    retry,
  ).catch(() => undefined);
  for (const p of pvcs?.items ?? []) claims.add(p.metadata!.name!);
  return claims;
}

/** Foreground-deletes the Cluster if it is a drill cluster; returns why not when it is not one. */
async function deleteDrillCluster(
  clients: KubeClients,
  namespace: string,
  name: string,
  retry: RetryOptions,
  log: (l: string) => void,
): Promise<string | undefined> {
  const ref = { group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, name };
  const existing = (await ignoreNotFound(() =>
    withRetry(`read cluster ${namespace}/${name}`, () => clients.custom.getNamespacedCustomObject(ref), retry),
  )) as Cluster | undefined;
  if (!existing) return undefined;
  if (!isDrillCluster(existing))
    return `Cluster ${namespace}/${name} exists but is not labelled as a drill cluster: not deleting it`;
  log(`Deleting recovery cluster ${namespace}/${name} (foreground)`);
  await ignoreNotFound(() =>
    withRetry(
      `delete cluster ${namespace}/${name}`,
      () => clients.custom.deleteNamespacedCustomObject({ ...ref, propagationPolicy: 'Foreground' }),
      retry,
    ),
  );
  return undefined;
}

type Lister = () => Promise<{ items: unknown[]; resourceVersion?: string }>;

/** Waits until the Cluster, its pods, Jobs and PVCs are gone; what is still there at the deadline is a leftover. */
async function waitDependentsGone(
  clients: KubeClients,
  namespace: string,
  name: string,
  opts: TeardownOptions,
): Promise<string[]> {
  const labelSelector = `${Label.cluster}=${name}`;
  const listOf = (l: { items?: { metadata?: { name?: string } }[]; metadata?: { resourceVersion?: string } }) => ({
    items: l.items ?? [],
    resourceVersion: l.metadata?.resourceVersion,
  });
  const watched: [string, string, { labelSelector?: string; fieldSelector?: string }, Lister][] = [
    [
      `Cluster ${namespace}/${name}`,
      clustersPath(namespace),
      { fieldSelector: `metadata.name=${name}` },
      async () =>
        listOf(
          (await clients.custom.listNamespacedCustomObject({
            group: CNPG_GROUP,
            version: CNPG_VERSION,
            namespace,
            plural: Plural.clusters,
            fieldSelector: `metadata.name=${name}`,
          })) as Parameters<typeof listOf>[0],
        ),
    ],
    [
      `pods of ${name}`,
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector },
      async () => listOf(await clients.core.listNamespacedPod({ namespace, labelSelector })),
    ],
    [
      `jobs of ${name}`,
      `/apis/batch/v1/namespaces/${namespace}/jobs`,
      { labelSelector },
      async () => listOf(await clients.batch.listNamespacedJob({ namespace, labelSelector })),
    ],
    [
      `PVCs of ${name}`,
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
      { labelSelector },
      async () => listOf(await clients.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })),
    ],
  ];
  const leftovers: string[] = [];
  for (const [what, path, selector, list] of watched) {
    try {
      await waitAllGone(clients, path, selector, what, list, opts);
    } catch (err) {
      if (err instanceof WaitTimeout) leftovers.push(`${what} still present after the teardown deadline`);
      else throw err;
    }
  }
  return leftovers;
}

/** How often teardown re-lists the volumes a Delete reclaim policy is still removing. */
export const VOLUME_POLL_MS = 1_000;

/**
 * Volumes of the claims: a Retain (or Recycle) volume outlives its claim and is a leak at once; a
 * Delete volume goes Released and is removed by its provisioner seconds later, so it is waited for
 * until the deadline and a leak only if still there then (or Failed: the provisioner gave up).
 */
async function volumesLeft(
  clients: KubeClients,
  namespace: string,
  claims: Set<string>,
  opts: TeardownOptions,
  retry: RetryOptions,
): Promise<string[]> {
  const list = async () =>
    (
      (await withRetry('list persistent volumes', () => clients.core.listPersistentVolume({}), retry))
        .items as V1PersistentVolume[]
    ).filter(
      (pv) =>
        pv.spec?.claimRef?.namespace === namespace && !!pv.spec.claimRef.name && claims.has(pv.spec.claimRef.name),
    );
  const reclaiming = (pv: V1PersistentVolume) =>
    pv.spec?.persistentVolumeReclaimPolicy === 'Delete' && pv.status?.phase !== 'Failed';
  try {
    let pvs = await list();
    const leaks = pvs.filter((pv) => !reclaiming(pv)).map((pv) => describeVolume(pv, 'delete it by hand'));
    const until = opts.volumeDeadline ?? opts.deadline;
    const pollMs = opts.volumePollMs ?? VOLUME_POLL_MS;
    while (pvs.some(reclaiming) && Date.now() + pollMs < until) {
      await sleep(pollMs, opts.signal);
      pvs = await list();
    }
    const late = pvs
      .filter(reclaiming)
      .map((pv) =>
        describeVolume(pv, 'its provisioner did not delete it before the teardown deadline; check its events'),
      );
    return [...leaks, ...late];
  } catch (err) {
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    const s = statusOf(err);
    return [
      `could not verify persistent volumes (${s === 403 ? 'no permission to list persistentvolumes' : describeError(err)})`,
    ];
  }
}

function describeVolume(pv: V1PersistentVolume, advice: string): string {
  const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'unknown';
  return (
    `PersistentVolume ${pv.metadata?.name} (claim ${pv.spec!.claimRef!.name}) ` +
    `is ${pv.status?.phase ?? 'present'} with reclaim policy ${policy}: ${advice}`
  );
}

/** Watches a collection until nothing matches the selector (a re-list after a dropped watch resets what is known). */
async function waitAllGone(
  clients: KubeClients,
  path: string,
  selector: { labelSelector?: string; fieldSelector?: string },
  what: string,
  list: Lister,
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
