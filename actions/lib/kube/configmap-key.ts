// Read-modify-write of one key of a ConfigMap with optimistic concurrency: the result records
// the drill and the soak gate keep in the cluster. A 409 means another writer (or our own
// create/replace that landed before a timeout) got there first: re-read and re-apply.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';
import { statusOf, withRetry, type RetryOptions } from './retry.js';

export interface ConfigMapTarget {
  namespace: string;
  name: string;
  /** Merged over the stored labels / annotations on every write. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export async function readConfigMap(
  clients: KubeClients,
  namespace: string,
  name: string,
  retry?: RetryOptions,
): Promise<V1ConfigMap | undefined> {
  try {
    return await withRetry(
      `read ConfigMap ${namespace}/${name}`,
      () => clients.core.readNamespacedConfigMap({ name, namespace }),
      retry,
    );
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export interface KeyUpdate {
  value: string;
  created: boolean;
  /** Conflicts resolved by re-reading. */
  conflicts: number;
}

/** Sets `data[key]` to `update(current value)`; `update` must be safe to re-apply to a newer value. */
export async function updateConfigMapKey(
  clients: KubeClients,
  target: ConfigMapTarget,
  key: string,
  update: (current: string | undefined) => string,
  opts: { retry?: RetryOptions; attempts?: number } = {},
): Promise<KeyUpdate> {
  const { namespace, name } = target;
  const attempts = opts.attempts ?? 6;
  for (let conflicts = 0; ; conflicts++) {
    const cm = await readConfigMap(clients, namespace, name, opts.retry);
    const value = update(cm?.data?.[key]);
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace,
        labels: { ...cm?.metadata?.labels, ...target.labels },
        annotations: { ...cm?.metadata?.annotations, ...target.annotations },
        ...(cm ? { resourceVersion: cm.metadata?.resourceVersion } : {}),
      },
      data: { ...cm?.data, [key]: value },
    };
    try {
      if (cm)
        await withRetry(
          `replace ConfigMap ${namespace}/${name}`,
          () => clients.core.replaceNamespacedConfigMap({ name, namespace, body }),
          opts.retry,
        );
      else
        await withRetry(
          `create ConfigMap ${namespace}/${name}`,
          () => clients.core.createNamespacedConfigMap({ namespace, body }),
          opts.retry,
        );
      return { value, created: !cm, conflicts };
    } catch (err) {
      if (statusOf(err) !== 409 || conflicts + 1 >= attempts) throw err;
    }
  }
}
