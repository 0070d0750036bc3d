// Rolls the app's Deployment so its pods pick up changed env vars: the same pod-template
// annotation `kubectl rollout restart` sets. A Deployment that does not exist needs no roll.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, withRetry } from '../kube/retry.js';
import type { AppTarget } from './types.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** Returns false when the Deployment does not exist (nothing runs that could see the vars). */
export async function rollDeployment(clients: KubeClients, target: AppTarget, now = new Date()): Promise<boolean> {
  const { deployment: name, namespace } = target;
  const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: now.toISOString() } } } } };
  const res = await withRetry(`roll deployment ${namespace}/${name}`, () =>
    ignoreNotFound(() =>
      clients.apps.patchNamespacedDeployment(
        { name, namespace, body, fieldManager: 'addon-sync-roll' },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    ),
  );
  return res !== undefined;
}
