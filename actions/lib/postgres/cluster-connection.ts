// Connection to a CNPG cluster's current primary: checked ready, credentials from a Secret
// (masked), reached through a port-forward over the API server or directly in-cluster.
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { forwardPodPort } from '../kube/portforward.js';
import { withRetry } from '../kube/retry.js';
import { readSecret } from '../kube/secrets.js';
import type { Cluster } from '../cnpg/types.js';
import type { ConnInfo } from './conn-info.js';

export type ConnectMode = 'port-forward' | 'direct';

export interface ClusterConnectionOptions {
  mode: ConnectMode;
  /** Secret with username/password; default: `<cluster>-superuser` when enabled, else `<cluster>-app`. */
  secretName?: string;
  /** Database; default: the secret's dbname, else the bootstrap database, else `app`. */
  database?: string;
}

export interface ClusterConnection {
  conn: ConnInfo;
  pod: string;
  secretName: string;
  close(): Promise<void>;
}

export function defaultSecretName(cluster: Cluster): string {
  return `${cluster.metadata.name}${cluster.spec.enableSuperuserAccess ? '-superuser' : '-app'}`;
}

export async function connectToPrimary(
  core: Pick<Core, 'setSecret'>,
  clients: KubeClients,
  cluster: Cluster,
  opts: ClusterConnectionOptions,
): Promise<ClusterConnection> {
  const namespace = cluster.metadata.namespace!;
  const name = cluster.metadata.name;
  const pod = cluster.status?.currentPrimary;
  if (!pod) throw new Error(`Cluster ${namespace}/${name} has no status.currentPrimary: it has no primary to read from; wait until it is healthy (kubectl get cluster ${name} -n ${namespace}).`);
  const podObj = await withRetry(`read pod ${namespace}/${pod}`, () => clients.core.readNamespacedPod({ name: pod, namespace }));
  const ready = podObj.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (!ready) {
    throw new Error(`The current primary ${namespace}/${pod} is not ready (pod phase ${podObj.status?.phase ?? 'unknown'}); the cluster must be healthy before it is read (kubectl describe pod ${pod} -n ${namespace}).`);
  }

  const secretName = opts.secretName ?? defaultSecretName(cluster);
  const secret = await readSecret(core, clients, namespace, secretName);
  if (!secret.username || !secret.password) {
    throw new Error(`Secret ${namespace}/${secretName} has no username/password keys; point the credentials input at a kubernetes.io/basic-auth Secret (default: the cluster's -app or -superuser Secret).`);
  }
  const database =
    opts.database ??
    (secret.dbname && secret.dbname !== '*' ? secret.dbname : undefined) ??
    cluster.spec.bootstrap?.initdb?.database ??
    cluster.spec.bootstrap?.recovery?.database ??
    'app';

  if (opts.mode === 'direct') {
    const host = `${name}-rw.${namespace}.svc`;
    return { conn: { host, port: 5432, user: secret.username, password: secret.password, database }, pod, secretName, close: async () => {} };
  }
  const forward = await forwardPodPort(clients.kc, namespace, pod, 5432);
  return {
    conn: { host: forward.host, port: forward.port, user: secret.username, password: secret.password, database },
    pod,
    secretName,
    close: () => forward.close(),
  };
}
