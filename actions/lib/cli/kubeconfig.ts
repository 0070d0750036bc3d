// Where the CLI finds Kubernetes: --kubeconfig FILE (with --context), then KUBECONFIG, then the
// in-cluster ServiceAccount when it runs in a pod (client-node's loadFromCluster: the mounted
// token and CA, the API server from KUBERNETES_SERVICE_HOST/PORT), then ~/.kube/config.
// The result is the action's `kubeconfig` input (contents) or nothing (kube/config.ts reads
// KUBECONFIG and ~/.kube/config itself).
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from './args.js';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Reads process.env as client-node and kube/config.ts do. `root`: where the pod's file system starts
 *  (client-node's pathPrefix; tests use a temp dir). */
export function kubeconfigInput(path: string | undefined, root = ''): string | undefined {
  const env = process.env;
  if (path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`--kubeconfig ${path} cannot be read (${(err as Error).message})`);
    }
  }
  if (env.KUBECONFIG) return undefined;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${root}${SERVICE_ACCOUNT_TOKEN}`)) {
    const kc = new KubeConfig();
    kc.loadFromCluster(root);
    return kc.exportConfig();
  }
  return undefined;
}
