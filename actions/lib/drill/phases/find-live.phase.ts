// Preflight: the API server answers and the live Cluster exists. Until this passes a failure is
// a usage error (pipeline.ts): wrong namespace or cluster name are input errors.
import { InputError } from '../../inputs.js';
import { checkReachable } from '../../kube/client.js';
import { statusOf, withRetry } from '../../kube/retry.js';
import { getCluster } from '../../cnpg/api.js';
import { definePhase } from '../pipeline.js';
import { describeError } from '../../errors.js';

export const findLive = definePhase({
  name: 'find-live',
  title: 'check access and the live cluster',
  needs: [],
  gives: ['live'],
  reads: ['namespace', 'cluster'],
  async run({ inputs, clients, retry }) {
    const { namespace, cluster } = inputs;
    await checkReachable(clients);
    const live = await getCluster(clients, namespace, cluster, retry).catch((err) => {
      throw new Error(`Cannot read Cluster ${namespace}/${cluster}: ${describeError(err)}`, { cause: err });
    });
    if (live) return { live };
    const ns = await withRetry(
      `read namespace ${namespace}`,
      () => clients.core.readNamespace({ name: namespace }),
      retry,
    ).catch((err) => (statusOf(err) === 404 ? null : undefined));
    if (ns === null)
      throw new InputError(
        'namespace',
        `namespace '${namespace}' does not exist; set the namespace of the live Cluster.`,
      );
    throw new InputError(
      'cluster',
      `no CNPG Cluster '${cluster}' in namespace '${namespace}'; check the cluster and namespace inputs.`,
    );
  },
});
