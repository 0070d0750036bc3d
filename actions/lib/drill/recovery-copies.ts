// What a recovery outside the live namespace needs from it: the object store's credential and
// CA Secrets (only the keys referenced) and, in plugin mode, the ObjectStore. The drill copies
// them to the recovery site under names derived from the recovery cluster, labelled as the
// drill's, points the recovery manifest at the copies, and deletes them at teardown (main,
// post and sweep) by label: it never deletes anything it did not create.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
import { BARMAN_CLOUD_GROUP, BARMAN_CLOUD_VERSION, Plural, type Cluster, type ObjectStore } from '../cnpg/types.js';
import { ManagedBy } from '../labels.js';
import type { LiveSpec } from './live-spec.js';
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

/** One Secret or ConfigMap to copy: the keys read ('all': envFrom, pull secrets), whether its type must be kept. */
export interface CopySource {
  name: string;
  keys: Set<string> | 'all';
  /** Pull secrets keep their type (the kubelet reads only dockerconfigjson/dockercfg); others are copied Opaque. */
  keepType: boolean;
  /** Every reference is optional: a missing source is no error and is not copied. */
  optional: boolean;
}

export interface CopyPlan {
  secrets: CopySource[];
  configMaps: CopySource[];
  objectStore?: ObjectStore;
  /** spec.serviceAccountName: CNPG uses an existing one and never creates it (validateExistingServiceAccount). */
  serviceAccount?: string;
}

type PodRefs = Pick<LiveSpec['pod'], 'imagePullSecrets' | 'env' | 'envFrom' | 'serviceAccountName'>;
type EnvVar = { valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef } };
type KeyRef = { name?: string; key?: string; optional?: boolean };
type EnvFrom = {
  secretRef?: { name?: string; optional?: boolean };
  configMapRef?: { name?: string; optional?: boolean };
};

/**
 * Everything the recovery pods read from the live namespace: the object store's credential and CA
 * keys, the ObjectStore and its sidecar env (plugin lifecycle_envs.go), the Cluster's pull secrets,
 * env and envFrom sources, and its existing ServiceAccount (CONFORMANCE.md, branch conform).
 */
export function planCopies(storeConfig: unknown, objectStore?: ObjectStore, pod: PodRefs = {}): CopyPlan {
  const secrets = new Map<string, CopySource>();
  const configMaps = new Map<string, CopySource>();
  const add = (to: Map<string, CopySource>, name: string | undefined, key: string | 'all', o: Partial<CopySource>) => {
    if (!name) return;
    const c = to.get(name) ?? { name, keys: new Set<string>(), keepType: false, optional: true };
    if (key === 'all' || c.keys === 'all') c.keys = 'all';
    else c.keys.add(key);
    c.keepType ||= !!o.keepType;
    c.optional &&= !!o.optional;
    to.set(name, c);
  };
  for (const r of secretRefs(storeConfig)) add(secrets, r.name, r.key, {});
  const env = [...(objectStore?.spec.instanceSidecarConfiguration?.env ?? []), ...(pod.env ?? [])] as EnvVar[];
  for (const e of env) {
    const { secretKeyRef: s, configMapKeyRef: c } = e.valueFrom ?? {};
    if (s?.key) add(secrets, s.name, s.key, { optional: s.optional });
    if (c?.key) add(configMaps, c.name, c.key, { optional: c.optional });
  }
  for (const f of (pod.envFrom ?? []) as EnvFrom[]) {
    add(secrets, f.secretRef?.name, 'all', { optional: f.secretRef?.optional });
    add(configMaps, f.configMapRef?.name, 'all', { optional: f.configMapRef?.optional });
  }
  for (const p of pod.imagePullSecrets ?? []) add(secrets, p.name, 'all', { keepType: true });
  return {
    secrets: [...secrets.values()],
    configMaps: [...configMaps.values()],
    objectStore,
    serviceAccount: pod.serviceAccountName,
  };
}

/** Rewrites the Secret and ConfigMap names of env, envFrom and imagePullSecrets to the copies'. */
function retargetPod(
  pod: { env?: unknown[]; envFrom?: unknown[]; imagePullSecrets?: { name: string }[] },
  recovery: string,
): void {
  const to = (ref: { name?: string } | undefined) => {
    if (ref?.name) ref.name = copyName(recovery, ref.name);
  };
  for (const e of (pod.env ?? []) as EnvVar[]) {
    to(e.valueFrom?.secretKeyRef);
    to(e.valueFrom?.configMapKeyRef);
  }
  for (const f of (pod.envFrom ?? []) as EnvFrom[]) {
    to(f.secretRef);
    to(f.configMapRef);
  }
  for (const p of pod.imagePullSecrets ?? []) to(p);
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
  retargetPod(manifest.spec, recovery);
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

/**
 * Reads each needed Secret and ConfigMap on live (masking secret values), checks the ServiceAccount
 * exists at the site, and creates the copies there. A dry run first reads and checks everything.
 */
export async function makeCopies(ctx: CopyContext, plan: CopyPlan, dryRun = false): Promise<string[]> {
  const dry = dryRun ? 'All' : undefined;
  if (plan.serviceAccount) await checkServiceAccount(ctx, plan.serviceAccount);
  const made: string[] = [];
  for (const s of plan.secrets) {
    const src = await readSource(ctx, 'Secret', s, () =>
      ctx.live.core.readNamespacedSecret({ namespace: ctx.liveNamespace, name: s.name }),
    );
    if (!src) continue;
    const data = pick(ctx, 'Secret', s, src.data ?? {});
    for (const v of Object.values(data)) ctx.core.setSecret(Buffer.from(v, 'base64').toString('utf8'));
    const name = copyName(ctx.recovery, s.name);
    // Only the keys read are copied, so the copy is Opaque: a kubernetes.io/tls Secret without
    // tls.key would be refused (ValidateSecret). Pull secrets are copied whole, with their type.
    const body: V1Secret = { metadata: { name, labels: ctx.labels }, type: s.keepType ? src.type : 'Opaque', data };
    await create(ctx, `Secret ${name}`, () =>
      ctx.site.core.createNamespacedSecret({ namespace: ctx.namespace, body, dryRun: dry }),
    );
    made.push(`Secret ${ctx.namespace}/${name}`);
  }
  for (const c of plan.configMaps) {
    const src = await readSource(ctx, 'ConfigMap', c, () =>
      ctx.live.core.readNamespacedConfigMap({ namespace: ctx.liveNamespace, name: c.name }),
    );
    if (!src) continue;
    const name = copyName(ctx.recovery, c.name);
    const body: V1ConfigMap = {
      metadata: { name, labels: ctx.labels },
      data: pick(ctx, 'ConfigMap', c, src.data ?? {}),
    };
    await create(ctx, `ConfigMap ${name}`, () =>
      ctx.site.core.createNamespacedConfigMap({ namespace: ctx.namespace, body, dryRun: dry }),
    );
    made.push(`ConfigMap ${ctx.namespace}/${name}`);
  }
  if (plan.objectStore) made.push(await copyObjectStore(ctx, plan.objectStore, dry));
  return made;
}

/** The source object, undefined when it is missing and every reference to it is optional. */
async function readSource<T>(
  ctx: CopyContext,
  kind: string,
  c: CopySource,
  read: () => Promise<T>,
): Promise<T | undefined> {
  return withRetry(`read ${kind.toLowerCase()} ${ctx.liveNamespace}/${c.name}`, read, ctx.retry).catch((err) => {
    if (statusOf(err) !== 404) throw err;
    if (c.optional) return undefined;
    throw new Error(
      `${kind} ${ctx.liveNamespace}/${c.name}, which the recovery pod needs ` +
        `(the live cluster references it), does not exist; nothing was created`,
    );
  });
}

function pick(ctx: CopyContext, kind: string, c: CopySource, data: Record<string, string>): Record<string, string> {
  if (c.keys === 'all') return { ...data };
  const out: Record<string, string> = {};
  for (const k of c.keys) {
    if (data[k] === undefined && c.optional) continue;
    if (data[k] === undefined)
      throw new Error(`${kind} ${ctx.liveNamespace}/${c.name} has no key '${k}' that the live cluster references`);
    out[k] = data[k];
  }
  return out;
}

/** CNPG never creates spec.serviceAccountName: it must exist at the site (it may carry a cloud identity). */
async function checkServiceAccount(ctx: CopyContext, name: string): Promise<void> {
  await withRetry(
    `read service account ${ctx.namespace}/${name}`,
    () => ctx.site.core.readNamespacedServiceAccount({ namespace: ctx.namespace, name }),
    ctx.retry,
  ).catch((err) => {
    if (statusOf(err) !== 404) throw err;
    throw new Error(
      `ServiceAccount ${name} (spec.serviceAccountName of the live cluster) does not exist ` +
        `in namespace ${ctx.namespace} of the recovery site; CNPG uses it as is and never ` +
        `creates it: create it there (with the same cloud identity, if any); nothing was created`,
    );
  });
}

async function copyObjectStore(ctx: CopyContext, store: ObjectStore, dryRun: string | undefined): Promise<string> {
  const spec = structuredClone(store.spec);
  retargetRefs(spec.configuration, ctx.recovery);
  retargetPod(spec.instanceSidecarConfiguration ?? {}, ctx.recovery);
  const name = copyName(ctx.recovery, store.metadata.name);
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
      dryRun,
    }),
  );
  return `ObjectStore ${ctx.namespace}/${name}`;
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
  opts: { objectStores: boolean; configMaps?: boolean; retry?: RetryOptions },
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
  if (opts.configMaps) leftovers.push(...(await removeConfigMapCopies(site, namespace, selector, retry)));
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

async function removeConfigMapCopies(
  site: KubeClients,
  namespace: string,
  labelSelector: string,
  retry?: RetryOptions,
): Promise<string[]> {
  const leftovers: string[] = [];
  const maps = await withRetry(
    `list drill config maps in ${namespace}`,
    () => site.core.listNamespacedConfigMap({ namespace, labelSelector }),
    retry,
  );
  for (const m of maps.items) {
    const name = m.metadata!.name!;
    await ignoreNotFound(() =>
      withRetry(`delete config map ${name}`, () => site.core.deleteNamespacedConfigMap({ namespace, name }), retry),
    ).catch((e) => leftovers.push(`ConfigMap ${namespace}/${name}: ${(e as Error).message}`));
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
