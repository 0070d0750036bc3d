// Connection to a CNPG cluster's current primary: checked ready, credentials from a Secret
// (masked), reached through a port-forward over the API server or directly in-cluster.
import type { V1Pod } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { forwardPodPort } from '../kube/portforward.js';
import { withRetry } from '../kube/retry.js';
import { readSecret } from '../kube/secrets.js';
import type { Cluster } from '../cnpg/types.js';
import type { ConnInfo } from './conn-info.js';
import { SERVICE_ROUTE_TIMEOUT_MS, waitForServiceRoute } from './service-route.js';

export type ConnectMode = 'port-forward' | 'direct';

export interface ClusterConnectionOptions {
  mode: ConnectMode;
  /** Secret with username/password; default: the superuser's when enabled, else the app owner's (defaultSecretName). */
  secretName?: string;
  /** Database; default: the secret's dbname, else the application database (applicationDatabase), else `app`. */
  database?: string;
  /** Direct mode: how long the -rw Service may take to route to the ready primary (SERVICE_ROUTE_TIMEOUT_MS). */
  serviceRouteTimeoutMs?: number;
  /** Direct mode: the caller's own deadline (epoch ms, the drill's `timeout`): the route wait ends by then too. */
  deadline?: number;
}

export interface ClusterConnection {
  conn: ConnInfo;
  pod: string;
  secretName: string;
  close(): Promise<void>;
}

/** GetSuperuserSecretName (api/v1/cluster_funcs.go): spec.superuserSecret.name, else `<cluster>-superuser`. */
export function superuserSecretName(cluster: Cluster): string {
  return cluster.spec.superuserSecret?.name || `${cluster.metadata.name}-superuser`;
}

/** GetApplicationSecretName: the bootstrap's secret (recovery, then pg_basebackup, then initdb), else `<cluster>-app`. */
export function applicationSecretName(cluster: Cluster): string {
  const b = cluster.spec.bootstrap;
  return (
    b?.recovery?.secret?.name ||
    b?.pg_basebackup?.secret?.name ||
    b?.initdb?.secret?.name ||
    `${cluster.metadata.name}-app`
  );
}

/**
 * GetApplicationDatabaseName (api/v1/cluster_funcs.go): the bootstrap's database, recovery first,
 * then pg_basebackup, then initdb; `app` (the webhook's default) when none names one.
 */
export function applicationDatabase(cluster: Cluster): string {
  const b = cluster.spec.bootstrap;
  return b?.recovery?.database || b?.pg_basebackup?.database || b?.initdb?.database || 'app';
}

/** The superuser's secret when superuser access is enabled (else CNPG disables it), else the app owner's. */
export function defaultSecretName(cluster: Cluster): string {
  return cluster.spec.enableSuperuserAccess ? superuserSecretName(cluster) : applicationSecretName(cluster);
}

export async function connectToPrimary(
  core: Pick<Core, 'setSecret'>,
  clients: KubeClients,
  cluster: Cluster,
  opts: ClusterConnectionOptions,
): Promise<ClusterConnection> {
  const pod = cluster.status?.currentPrimary;
  const { namespace, name } = { namespace: cluster.metadata.namespace!, name: cluster.metadata.name };
  if (!pod)
    throw new Error(
      `Cluster ${namespace}/${name} has no status.currentPrimary: it has no primary to read from; ` +
        `wait until it is healthy (kubectl get cluster ${name} -n ${namespace}).`,
    );
  await checkReady(clients, namespace, pod, 'current primary');
  // -rw can never be disabled (the webhook refuses it) and follows the primary, seconds after it is ready.
  const service = `${name}-rw`;
  const c = await connectToInstance(core, clients, cluster, pod, `${service}.${namespace}.svc`, opts);
  if (opts.mode === 'direct') {
    const bound = opts.serviceRouteTimeoutMs ?? SERVICE_ROUTE_TIMEOUT_MS;
    const left = opts.deadline === undefined ? bound : Math.max(0, opts.deadline - Date.now());
    await waitForServiceRoute(c.conn, { namespace, service, pod }, Math.min(bound, left));
  }
  return c;
}

/**
 * A ready instance that is not the primary (status.instanceNames minus current/target primary),
 * for reads that must not load the primary. Direct mode connects to that pod's IP: the -ro Service
 * may be disabled (spec.managed.services.disabledDefaultServices) and load-balances over all
 * replicas. The caller must still check pg_is_in_recovery(): a failover can promote it meanwhile.
 */
export async function connectToReplica(
  core: Pick<Core, 'setSecret'>,
  clients: KubeClients,
  cluster: Cluster,
  opts: ClusterConnectionOptions,
): Promise<ClusterConnection> {
  const { namespace, name } = { namespace: cluster.metadata.namespace!, name: cluster.metadata.name };
  const primaries = [cluster.status?.currentPrimary, cluster.status?.targetPrimary];
  const candidates = (cluster.status?.instanceNames ?? []).filter((p) => !primaries.includes(p)).sort();
  const problems: string[] = [];
  for (const pod of candidates) {
    try {
      const ip = (await checkReady(clients, namespace, pod, 'replica')).status?.podIP;
      if (!ip) throw new Error(`The replica ${namespace}/${pod} has no status.podIP yet`);
      return await connectToInstance(core, clients, cluster, pod, ip, opts);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  const instances = (cluster.status?.instanceNames ?? []).join(', ') || 'none';
  throw new Error(
    `Cluster ${namespace}/${name} has no ready replica to count on ` +
      `(instances: ${instances}, primary ${primaries[0] ?? 'unknown'}${problems.length ? `; ${problems.join('; ')}` : ''}); ` +
      `use live-counts auto/exact, or run the cluster with instances >= 2.`,
  );
}

async function checkReady(clients: KubeClients, namespace: string, pod: string, role: string): Promise<V1Pod> {
  const podObj = await withRetry(`read pod ${namespace}/${pod}`, () =>
    clients.core.readNamespacedPod({ name: pod, namespace }),
  );
  const ready = podObj.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (!ready) {
    throw new Error(
      `The ${role} ${namespace}/${pod} is not ready (pod phase ${podObj.status?.phase ?? 'unknown'}); ` +
        `the cluster must be healthy before it is read (kubectl describe pod ${pod} -n ${namespace}).`,
    );
  }
  return podObj;
}

async function connectToInstance(
  core: Pick<Core, 'setSecret'>,
  clients: KubeClients,
  cluster: Cluster,
  pod: string,
  /** Direct mode's host: the -rw Service's in-cluster name, or the checked replica's pod IP. */
  directHost: string,
  opts: ClusterConnectionOptions,
): Promise<ClusterConnection> {
  const namespace = cluster.metadata.namespace!;
  const secretName = opts.secretName ?? defaultSecretName(cluster);
  const secret = await readSecret(core, clients, namespace, secretName);
  if (!secret.username || !secret.password) {
    throw new Error(
      `Secret ${namespace}/${secretName} has no username/password keys; point the credentials ` +
        `input at a kubernetes.io/basic-auth Secret (default: the cluster's -app or -superuser Secret).`,
    );
  }
  const database =
    opts.database ?? (secret.dbname && secret.dbname !== '*' ? secret.dbname : applicationDatabase(cluster));

  if (opts.mode === 'direct') {
    return {
      conn: { host: directHost, port: 5432, user: secret.username, password: secret.password, database },
      pod,
      secretName,
      close: async () => {},
    };
  }
  const forward = await forwardPodPort(clients.kc, namespace, pod, 5432);
  return {
    conn: {
      host: forward.host,
      port: forward.port,
      user: secret.username,
      password: secret.password,
      database,
      transportFailure: forward.failure,
    },
    pod,
    secretName,
    close: () => forward.close(),
  };
}
