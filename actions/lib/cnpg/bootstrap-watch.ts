// Watches a cluster's pods for the first failed bootstrap attempt (cnpg/bootstrap.ts), whichever
// mechanism the operator version uses, and reads the failing container's log while it exists.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { withRetry, type RetryOptions } from '../kube/retry.js';
import { watchUntil } from '../kube/watch.js';
import { bootstrapSource, errorSummary, type BootstrapSource } from './bootstrap.js';

export interface BootstrapFailure {
  source: BootstrapSource;
  /** The failing container's log tail ('' when it could not be read). */
  tail: string;
  /** One line: what failed and the log's error lines. */
  message: string;
}

/** Resolves at the first failed bootstrap attempt of `cluster`; rejects on abort / deadline. */
export async function firstBootstrapFailure(
  clients: KubeClients,
  namespace: string,
  cluster: string,
  opts: { deadline: number; signal?: AbortSignal; retry?: RetryOptions; tailLines?: number },
): Promise<BootstrapFailure> {
  const labelSelector = `cnpg.io/cluster=${cluster}`;
  const source = await watchUntil<BootstrapSource>(
    clients.kc,
    { path: `/api/v1/namespaces/${namespace}/pods`, labelSelector },
    `the bootstrap of ${namespace}/${cluster}`,
    (type, obj) => {
      const s = type === 'DELETED' ? undefined : bootstrapSource(obj as V1Pod, cluster);
      return s?.failure ? s : undefined;
    },
    {
      deadline: opts.deadline,
      signal: opts.signal,
      list: async () => {
        const l = await clients.core.listNamespacedPod({ namespace, labelSelector });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
      },
    },
  );
  const tail = await readTail(clients, namespace, source, opts.tailLines ?? 20, opts.retry).catch(() => '');
  return { source, tail, message: `${source.failure}: ${tail ? errorSummary(tail) : '(no log left to read)'}` };
}

async function readTail(
  clients: KubeClients,
  namespace: string,
  s: BootstrapSource,
  lines: number,
  retry?: RetryOptions,
): Promise<string> {
  const read = (previous: boolean) =>
    withRetry(
      `read log of pod ${s.pod}`,
      () =>
        clients.core.readNamespacedPodLog({
          namespace,
          name: s.pod,
          container: s.container,
          tailLines: lines,
          previous,
        }),
      retry,
    ).then((t) => String(t ?? '').trimEnd());
  const text = await read(false);
  return text || (s.restarts > 0 ? await read(true).catch(() => '') : '');
}
