// What a recovery outside the live namespace needs from it: the object store's credential and
// CA Secrets (only the keys referenced) and, in plugin mode, the ObjectStore. The drill copies
// them to the recovery site under names derived from the recovery cluster, labelled as the
// drill's, points the recovery manifest at the copies, and deletes them at teardown (main,
// post and sweep) by label: it never deletes anything it did not create.
import type { V1Secret } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, withRetry, type RetryOptions } from '../kube/retry.js';
import { BARMAN_CLOUD_GROUP, BARMAN_CLOUD_VERSION, Plural, type Cluster, type ObjectStore } from '../cnpg/types.js';
import { ManagedBy } from '../labels.js';
import { DrillLabel } from './recovery-manifest.js';

/** Label on every copy: the recovery cluster it was made for (teardown and sweep select by it). */
export const COPY_FOR_LABEL = 'cnpg-actions.io/copy-for';
const MAX_NAME = 253;

type Ref = { name: string; key: string };
const isRef = (v: unknown): v is Ref =>
  !!v &&
  typeof v === 'object' &&
  typeof (v as Ref).name === 'string' &&
  typeof (v as Ref).key === 'string' &&
  Object.keys(v).length === 2;

/** Every Secret key selector in an object store configuration (s3/azure/google credentials, endpointCA). */
export function secretRefs(config: unknown): Ref[] {
  const out: Ref[] = [];
  const walk = (v: unknown) => {
    if (isRef(v)) out.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(config);
  return out;
}

export const copyName = (recovery: string, original: string) =>
  `${recovery}-${original}`.slice(0, MAX_NAME).replace(/[-.]+$/, '');

/** Rewrites every Secret reference in place to the copy's name. */
function retargetRefs(config: unknown, recovery: string): void {
  for (const r of secretRefs(config)) r.name = copyName(recovery, r.name);
}

export interface CopyPlan {
  secrets: { name: string; keys: Set<string> }[];
  objectStore?: ObjectStore;
}

/** Which Secrets (and keys) and which ObjectStore the recovery reads. */
export function planCopies(storeConfig: unknown, objectStore?: ObjectStore): CopyPlan {
  const byName = new Map<string, Set<string>>();
  for (const r of secretRefs(storeConfig)) byName.set(r.name, (byName.get(r.name) ?? new Set()).add(r.key));
  return { secrets: [...byName].map(([name, keys]) => ({ name, keys })), objectStore };
}

export function copyLabels(liveCluster: string, recovery: string, runLabel: string): Record<string, string> {
  return {
    [DrillLabel.managedBy]: ManagedBy.drill,
    [DrillLabel.drillOf]: liveCluster,
    [DrillLabel.run]: runLabel,
    [COPY_FOR_LABEL]: recovery,
  };
}

/** Points the recovery Cluster at the copies (namespace, Secret names, ObjectStore name). */
export function retargetManifest(manifest: Cluster, namespace: string, plan: CopyPlan): void {
  const recovery = manifest.metadata.name;
  manifest.metadata.namespace = namespace;
  for (const ext of manifest.spec.externalClusters ?? []) {
    if (ext.barmanObjectStore) retargetRefs(ext.barmanObjectStore, recovery);
    if (ext.plugin?.parameters?.barmanObjectName && plan.objectStore)
      ext.plugin.parameters.barmanObjectName = copyName(recovery, plan.objectStore.metadata.name);
  }
}

export interface CopyContext {
  core: Pick<Core, 'setSecret'>;
  live: KubeClients;
  liveNamespace: string;
  site: KubeClients;
  namespace: string;
  recovery: string;
  labels: Record<string, string>;
  retry?: RetryOptions;
}

/** Reads each needed Secret on live (masking its values) and creates the copies at the recovery site. */
export async function makeCopies(ctx: CopyContext, plan: CopyPlan, dryRun = false): Promise<string[]> {
  const made: string[] = [];
  for (const s of plan.secrets) {
    const src = await withRetry(
      `read secret ${ctx.liveNamespace}/${s.name}`,
      () => ctx.live.core.readNamespacedSecret({ namespace: ctx.liveNamespace, name: s.name }),
      ctx.retry,
    );
    const data: Record<string, string> = {};
    for (const k of s.keys) {
      const v = src.data?.[k];
      if (v === undefined)
        throw new Error(
          `Secret ${ctx.liveNamespace}/${s.name} has no key '${k}' that the object store configuration references`,
        );
      ctx.core.setSecret(Buffer.from(v, 'base64').toString('utf8'));
      data[k] = v;
    }
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: copyName(ctx.recovery, s.name), labels: ctx.labels },
      type: src.type ?? 'Opaque',
      data,
    };
    await create(ctx, `Secret ${body.metadata!.name}`, () =>
      ctx.site.core.createNamespacedSecret({ namespace: ctx.namespace, body, dryRun: dryRun ? 'All' : undefined }),
    );
    made.push(`Secret ${ctx.namespace}/${body.metadata!.name}`);
  }
  if (plan.objectStore) {
    const spec = structuredClone(plan.objectStore.spec);
    retargetRefs(spec.configuration, ctx.recovery);
    const name = copyName(ctx.recovery, plan.objectStore.metadata.name);
    const body = {
      apiVersion: `${BARMAN_CLOUD_GROUP}/${BARMAN_CLOUD_VERSION}`,
      kind: 'ObjectStore',
      metadata: { name, labels: ctx.labels },
      spec,
    };
    await create(ctx, `ObjectStore ${name}`, () =>
      ctx.site.custom.createNamespacedCustomObject({
        group: BARMAN_CLOUD_GROUP,
        version: BARMAN_CLOUD_VERSION,
        namespace: ctx.namespace,
        plural: Plural.objectStores,
        body,
        dryRun: dryRun ? 'All' : undefined,
      }),
    );
    made.push(`ObjectStore ${ctx.namespace}/${name}`);
  }
  return made;
}

async function create(ctx: CopyContext, what: string, fn: () => Promise<unknown>): Promise<void> {
  await withRetry(`create ${what} in ${ctx.namespace}`, fn, ctx.retry).catch((err) => {
    // A copy left by an earlier attempt of this very run is ours: reuse it.
    if ((err as { code?: number }).code === 409) return;
    throw err;
  });
}

/** Deletes the copies made for one recovery cluster (all of them when `recovery` is undefined); returns what is left. */
export async function removeCopies(
  site: KubeClients,
  namespace: string,
  recovery: string | undefined,
  opts: { objectStores: boolean; retry?: RetryOptions },
): Promise<string[]> {
  const retry = opts.retry;
  const selector = `${DrillLabel.managedBy}=${ManagedBy.drill},${recovery ? `${COPY_FOR_LABEL}=${recovery}` : COPY_FOR_LABEL}`;
  const leftovers: string[] = [];
  const secrets = await withRetry(
    `list drill secrets in ${namespace}`,
    () => site.core.listNamespacedSecret({ namespace, labelSelector: selector }),
    retry,
  );
  for (const s of secrets.items) {
    await ignoreNotFound(() =>
      withRetry(
        `delete secret ${s.metadata!.name}`,
        () => site.core.deleteNamespacedSecret({ namespace, name: s.metadata!.name! }),
        retry,
      ),
    ).catch((e) => leftovers.push(`Secret ${namespace}/${s.metadata!.name}: ${(e as Error).message}`));
  }
  if (!opts.objectStores) return leftovers;
  const stores = (await ignoreNotFound(() =>
    withRetry(
      `list drill object stores in ${namespace}`,
      () =>
        site.custom.listNamespacedCustomObject({
          group: BARMAN_CLOUD_GROUP,
          version: BARMAN_CLOUD_VERSION,
          namespace,
          plural: Plural.objectStores,
          labelSelector: selector,
        }),
      retry,
    ),
  )) as { items: ObjectStore[] } | undefined;
  for (const o of stores?.items ?? []) {
    const name = o.metadata.name;
    await ignoreNotFound(() =>
      withRetry(
        `delete object store ${name}`,
        () =>
          site.custom.deleteNamespacedCustomObject({
            group: BARMAN_CLOUD_GROUP,
            version: BARMAN_CLOUD_VERSION,
            namespace,
            plural: Plural.objectStores,
            name,
          }),
        retry,
      ),
    ).catch((e) => leftovers.push(`ObjectStore ${namespace}/${name}: ${(e as Error).message}`));
  }
  return leftovers;
}

/**
 * Copies whose recovery cluster does not exist and that are older than the TTL: left by a run
 * killed between copying and creating the cluster whose post step never ran. Returns what it deleted.
 */
export async function sweepOrphanCopies(
  site: KubeClients,
  namespace: string,
  clusters: Set<string>,
  opts: { ttlMs: number; objectStores: boolean; retry?: RetryOptions },
): Promise<string[]> {
  const selector = `${DrillLabel.managedBy}=${ManagedBy.drill},${COPY_FOR_LABEL}`;
  const secrets = await withRetry(
    `list drill secrets in ${namespace}`,
    () => site.core.listNamespacedSecret({ namespace, labelSelector: selector }),
    opts.retry,
  );
  const orphans = new Set<string>();
  for (const s of secrets.items) {
    const owner = s.metadata?.labels?.[COPY_FOR_LABEL] ?? '';
    const age = Date.now() - new Date(s.metadata?.creationTimestamp ?? Date.now()).getTime();
    if (!clusters.has(owner) && age > opts.ttlMs) orphans.add(owner);
  }
  for (const owner of orphans)
    await removeCopies(site, namespace, owner, { objectStores: opts.objectStores, retry: opts.retry });
  return [...orphans];
}
