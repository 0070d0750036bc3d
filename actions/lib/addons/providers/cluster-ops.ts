// CNPG Cluster operations the dedicated and shared backends share: create-if-absent, wait
// until healthy (watch, not poll), delete and wait until gone.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { clustersPath, getCluster } from '../../cnpg/api.js';
import { clusterHealth, PhaseFailureClock } from '../../cnpg/health.js';
import { CNPG_GROUP, CNPG_VERSION, Label, Plural, type Cluster } from '../../cnpg/types.js';
import type { KubeClients } from '../../kube/client.js';
import { ignoreNotFound, sleep, statusOf, withRetry } from '../../kube/retry.js';
import { watchUntil } from '../../kube/watch.js';
import { firstBootstrapFailure } from '../../cnpg/bootstrap-watch.js';
import type { BackendContext } from './backend.js';

export async function createIfAbsent(
  clients: KubeClients,
  namespace: string,
  plural: string,
  body: { metadata: { name: string } },
): Promise<'created' | 'exists'> {
  try {
    await withRetry(`create ${plural} ${namespace}/${body.metadata.name}`, () =>
      clients.custom.createNamespacedCustomObject({
        group: CNPG_GROUP,
        version: CNPG_VERSION,
        namespace,
        plural,
        body,
      }),
    );
    return 'created';
  } catch (err) {
    if (statusOf(err) === 409) return 'exists';
    throw err;
  }
}

export async function mergePatchCluster(
  clients: KubeClients,
  namespace: string,
  name: string,
  patch: object,
): Promise<void> {
  await withRetry(`patch cluster ${namespace}/${name}`, () =>
    clients.custom.patchNamespacedCustomObject(
      { group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, name, body: patch },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
}

/** How often a persisting error phase is re-judged without a watch event (cnpg/health.ts: a 3-minute grace). */
export const HEALTH_RECHECK_MS = 5_000;

/**
 * Waits until the cluster is healthy (cnpg.md predicate); fails early on a lasting error phase
 * (cnpg/health.ts PhaseFailureClock) or at
 * the first failed bootstrap attempt (a Job pod or the `bootstrap-instance` init container): on
 * operators before 1.28.4 / 1.29.2 / 1.30.0 and with in-pod bootstrap the phase never says so.
 */
export async function waitHealthy(
  ctx: BackendContext,
  namespace: string,
  name: string,
  clock = new PhaseFailureClock(),
  recheckMs = HEALTH_RECHECK_MS,
): Promise<Cluster> {
  const stop = new AbortController();
  // Its deadline or abort is the cluster watch's to report: a rejection here never settles the race.
  const failed = firstBootstrapFailure(ctx.clients, namespace, name, {
    deadline: ctx.deadline,
    signal: stop.signal,
  }).then(
    (f): { cluster?: Cluster; failure?: string } => ({
      failure: `Cluster ${namespace}/${name} failed to bootstrap: ${f.message}`,
    }),
    () => new Promise<never>(() => {}),
  );
  try {
    const seen = await Promise.race([
      healthyOrTerminal(ctx, namespace, name, stop.signal, { clock, recheckMs }),
      failed,
    ]);
    if (seen.failure) throw new Error(seen.failure);
    return seen.cluster!;
  } finally {
    stop.abort(new Error('wait finished'));
  }
}

function healthyOrTerminal(
  ctx: BackendContext,
  namespace: string,
  name: string,
  signal: AbortSignal,
  { clock, recheckMs }: { clock: PhaseFailureClock; recheckMs: number },
): Promise<{ cluster?: Cluster; failure?: string }> {
  // watchUntil re-lists on errors thrown by the observer, so a failure is returned, then thrown.
  return watchUntil<{ cluster?: Cluster; failure?: string }>(
    ctx.clients.kc,
    { path: clustersPath(namespace), fieldSelector: `metadata.name=${name}` },
    `CNPG Cluster ${namespace}/${name} to become healthy`,
    (type, obj) => {
      const c = obj as Cluster;
      if (c.metadata?.name !== name) return undefined;
      if (type === 'DELETED') return { failure: `Cluster ${namespace}/${name} was deleted while waiting for it` };
      const h = clusterHealth(c);
      if (h.healthy) return { cluster: c };
      const failed = clock.failure(c);
      return failed ? { failure: `Cluster ${namespace}/${name} cannot become healthy: ${failed}` } : undefined;
    },
    {
      deadline: ctx.deadline,
      recheckMs,
      signal,
      list: async () => {
        const c = await getCluster(ctx.clients, namespace, name);
        return { items: c ? [c] : [], resourceVersion: c?.metadata.resourceVersion };
      },
    },
  ).catch((err) => {
    if (signal.aborted) return {};
    throw err;
  });
}

export async function deleteCustom(
  clients: KubeClients,
  namespace: string,
  plural: string,
  name: string,
): Promise<void> {
  await withRetry(`delete ${plural} ${namespace}/${name}`, () =>
    ignoreNotFound(() =>
      clients.custom.deleteNamespacedCustomObject({
        group: CNPG_GROUP,
        version: CNPG_VERSION,
        namespace,
        plural,
        name,
        propagationPolicy: 'Foreground',
      }),
    ),
  );
}

/**
 * Deletes the Cluster and waits until it and everything CNPG made for it are gone. Only pods and
 * Jobs block a foreground delete (SetControllerReference); Secrets, Services and PVCs are owned
 * through SetAsOwnedBy without blockOwnerDeletion (CONFORMANCE.md section 8), so the Cluster can
 * be gone while PVCs still terminate (pvc-protection): poll what is left by label.
 */
export async function deleteClusterAndWait(ctx: BackendContext, namespace: string, name: string): Promise<void> {
  await deleteCustom(ctx.clients, namespace, Plural.clusters, name);
  for (;;) {
    const left = (await getCluster(ctx.clients, namespace, name))
      ? [`Cluster ${name}`]
      : await leftovers(ctx.clients, namespace, name);
    if (!left.length) return;
    if (Date.now() > ctx.deadline)
      throw new Error(`Cluster ${namespace}/${name} is still being deleted at the deadline: ${left.join(', ')} remain`);
    await sleep(500);
  }
}

/** Pods, PVCs and Jobs CNPG labels with the cluster's name that still exist. */
async function leftovers(clients: KubeClients, namespace: string, cluster: string): Promise<string[]> {
  const labelSelector = `${Label.cluster}=${cluster}`;
  const [pods, pvcs, jobs] = await Promise.all([
    withRetry(`list pods of ${namespace}/${cluster}`, () =>
      clients.core.listNamespacedPod({ namespace, labelSelector }),
    ),
    withRetry(`list PVCs of ${namespace}/${cluster}`, () =>
      clients.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    ),
    withRetry(`list jobs of ${namespace}/${cluster}`, () =>
      clients.batch.listNamespacedJob({ namespace, labelSelector }),
    ),
  ]);
  return [
    ...pods.items.map((o) => `Pod ${o.metadata?.name}`),
    ...pvcs.items.map((o) => `PVC ${o.metadata?.name}`),
    ...jobs.items.map((o) => `Job ${o.metadata?.name}`),
  ];
}
