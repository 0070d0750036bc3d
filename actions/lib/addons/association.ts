// Association records: one ConfigMap per (app, add-on) in the add-ons namespace, labelled so
// one list call finds an app's associations. The cluster is the only state: every write
// carries the resourceVersion it read (optimistic concurrency), so two runners, or a run
// after a crash, see the same truth and never overwrite each other blindly.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, statusOf, withRetry } from '../kube/retry.js';
import type { Association, AssociationStatus, LocalityMode } from './types.js';
import { MANAGED_BY_LABEL, ManagedBy } from '../labels.js';

export const Labels = {
  app: 'cnpg-actions.io/app',
  addon: 'cnpg-actions.io/addon',
  variant: 'cnpg-actions.io/variant',
  component: 'cnpg-actions.io/component',
  managedBy: MANAGED_BY_LABEL,
} as const;

/** Another writer changed the record since we read it: this app is failed for this run, the next run sees the new truth. */
export class ConcurrentChangeError extends Error {
  constructor(what: string) {
    super(`${what} was changed by another run at the same time; re-run the sync.`);
    this.name = 'ConcurrentChangeError';
  }
}

export const associationName = (app: string, addon: string) => `addon-${app}-${addon}`;

export class AssociationStore {
  constructor(
    private readonly clients: KubeClients,
    readonly namespace: string,
  ) {}

  async listForApp(app: string): Promise<Association[]> {
    return this.list(`${Labels.managedBy}=${ManagedBy.addonSync},${Labels.app}=${app}`);
  }

  async list(
    labelSelector = `${Labels.managedBy}=${ManagedBy.addonSync},${Labels.component}=association`,
  ): Promise<Association[]> {
    const res = await withRetry(`list associations in ${this.namespace}`, () =>
      ignoreNotFound(() => this.clients.core.listNamespacedConfigMap({ namespace: this.namespace, labelSelector })),
    );
    return (res?.items ?? [])
      .filter((cm) => cm.metadata?.labels?.[Labels.component] === 'association')
      .map(fromConfigMap);
  }

  async get(app: string, addon: string): Promise<Association | undefined> {
    const cm = await withRetry(`read association ${app}/${addon}`, () =>
      ignoreNotFound(() =>
        this.clients.core.readNamespacedConfigMap({ name: associationName(app, addon), namespace: this.namespace }),
      ),
    );
    return cm ? fromConfigMap(cm) : undefined;
  }

  /** Creates the record; a record that already exists means another run got there first. */
  async create(a: Association, step = 'record'): Promise<Association> {
    const body = toConfigMap(this.namespace, a);
    const what = `association ${a.app}/${a.addon}`;
    try {
      return fromConfigMap(
        await withRetry(`create ${what}`, () =>
          this.clients.core.createNamespacedConfigMap({
            namespace: this.namespace,
            body,
            fieldManager: `addon-sync-${step}`,
          }),
        ),
      );
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      return this.acceptIfOurs(a, body, what, err);
    }
  }

  /** Replaces the record at the resourceVersion it was read with; `step` becomes the fieldManager (request logs, fault rules). */
  async update(a: Association, step: string): Promise<Association> {
    if (!a.resourceVersion) throw new Error(`association ${a.app}/${a.addon} has no resourceVersion to update from`);
    const body = toConfigMap(this.namespace, a);
    const what = `association ${a.app}/${a.addon}`;
    try {
      return fromConfigMap(
        await withRetry(`update ${what}`, () =>
          this.clients.core.replaceNamespacedConfigMap({
            name: body.metadata!.name!,
            namespace: this.namespace,
            body,
            fieldManager: `addon-sync-${step}`,
          }),
        ),
      );
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      return this.acceptIfOurs(a, body, what, err);
    }
  }

  async delete(a: Association): Promise<void> {
    await withRetry(`delete association ${a.app}/${a.addon}`, () =>
      ignoreNotFound(() =>
        this.clients.core.deleteNamespacedConfigMap({
          name: associationName(a.app, a.addon),
          namespace: this.namespace,
          body: a.resourceVersion ? { preconditions: { resourceVersion: a.resourceVersion } } : undefined,
        }),
      ),
    );
  }

  /** A retried write whose first attempt landed answers 409: it is ours if the stored write id is the one we sent. */
  private async acceptIfOurs(a: Association, body: V1ConfigMap, what: string, err: unknown): Promise<Association> {
    const now = await this.get(a.app, a.addon);
    if (now && (now as { writeId?: string }).writeId === body.data?.writeId) return now;
    void err;
    throw new ConcurrentChangeError(what);
  }
}

function toConfigMap(namespace: string, a: Association): V1ConfigMap {
  const data: Record<string, string> = {
    app: a.app,
    addon: a.addon,
    variant: a.variant,
    locality: a.locality,
    status: a.status,
    appNamespace: a.target.namespace,
    envSecret: a.target.envSecret,
    deployment: a.target.deployment,
    injectedKeys: JSON.stringify(a.injectedKeys),
    resources: JSON.stringify(a.resources),
    updatedAt: new Date().toISOString(),
    writeId: randomUUID(),
  };
  if (a.version) data.version = a.version;
  if (a.reason) data.reason = a.reason;
  if (a.intent) data.intent = a.intent;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: associationName(a.app, a.addon),
      namespace,
      resourceVersion: a.resourceVersion,
      labels: {
        [Labels.managedBy]: ManagedBy.addonSync,
        [Labels.component]: 'association',
        [Labels.app]: a.app,
        [Labels.addon]: a.addon,
        [Labels.variant]: a.variant,
      },
    },
    data,
  };
}

function fromConfigMap(cm: V1ConfigMap): Association & { writeId?: string } {
  const d = cm.data ?? {};
  return {
    app: d.app,
    addon: d.addon,
    variant: d.variant,
    version: d.version || undefined,
    locality: d.locality as LocalityMode,
    status: d.status as AssociationStatus,
    reason: d.reason || undefined,
    intent: (d.intent as Association['intent']) || undefined,
    target: { app: d.app, namespace: d.appNamespace, envSecret: d.envSecret, deployment: d.deployment },
    injectedKeys: parseJson(d.injectedKeys, []),
    resources: parseJson(d.resources, []),
    updatedAt: d.updatedAt,
    resourceVersion: cm.metadata?.resourceVersion,
    writeId: d.writeId,
  };
}

function parseJson<T>(s: string | undefined, fallback: T): T {
  try {
    return s ? (JSON.parse(s) as T) : fallback;
  } catch {
    return fallback;
  }
}
