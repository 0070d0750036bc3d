// Where the recovery Cluster runs: the live namespace (the original mode), another namespace of
// the same Kubernetes cluster (`recovery-namespace`, a sandbox), or another Kubernetes cluster
// (`recovery-kubeconfig` / `recovery-context`, the disaster-recovery site). Before anything is
// created the site is checked: the namespace exists, the CNPG operator's API (and the Barman
// Cloud plugin's, in plugin mode) is served there, and the credentials may do every verb the
// drill needs there (SelfSubjectAccessReview, what `kubectl auth can-i` asks).
import { ApisApi, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import { InputError } from '../inputs.js';
import { checkReachable, makeApi, makeClients, type KubeClients } from '../kube/client.js';
import { loadKubeConfig, type LoadedKubeConfig } from '../kube/config.js';
import { describeError } from '../errors.js';
import { statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
import { BARMAN_CLOUD_GROUP, CNPG_GROUP } from '../cnpg/types.js';

export interface RecoverySiteInputs {
  namespace: string;
  kubeconfig?: string;
  recoveryNamespace?: string;
  recoveryKubeconfig?: string;
  recoveryContext?: string;
}

export interface RecoverySite {
  clients: KubeClients;
  namespace: string;
  /** Another Kubernetes cluster (its own API server). */
  remote: boolean;
  /** The live namespace itself: nothing to copy, nothing to check beyond the live access. */
  sameNamespace: boolean;
  server: string;
  /** Another cluster: its kubeconfig (context applied, masked) for the post step. */
  kubeconfig?: string;
  /** For logs and the report: "namespace X of <server>". */
  where: string;
  dispose(): void;
}

/** Opens the recovery site's clients; a bad combination of inputs is an InputError. */
export function openRecoverySite(
  core: Pick<Core, 'setSecret'>,
  inputs: RecoverySiteInputs,
  live: { kc: KubeConfig; clients: KubeClients },
  make = (kc: KubeConfig) => makeClients(kc, 10_000),
): RecoverySite {
  const liveServer = live.kc.getCurrentCluster()?.server ?? '';
  let loaded: LoadedKubeConfig | undefined;
  if (inputs.recoveryKubeconfig || inputs.recoveryContext) {
    // Without getInput: the live `context` input must not pick the recovery site's context.
    const plain = { setSecret: (v: string) => core.setSecret(v) };
    loaded = inputs.recoveryKubeconfig
      ? loadKubeConfig(plain, inputs.recoveryKubeconfig, 'recovery-kubeconfig')
      : loadKubeConfig(plain, inputs.kubeconfig);
    if (inputs.recoveryContext) {
      if (!loaded.kc.getContexts().some((c) => c.name === inputs.recoveryContext)) {
        loaded.dispose();
        throw new InputError(
          'recovery-context',
          `no context '${inputs.recoveryContext}' in the ${inputs.recoveryKubeconfig ? 'recovery-kubeconfig' : 'kubeconfig'}; contexts: ${
            loaded.kc
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          }.`,
        );
      }
      loaded.kc.setCurrentContext(inputs.recoveryContext);
    }
  }
  const kc = loaded?.kc ?? live.kc;
  const server = kc.getCurrentCluster()?.server ?? '';
  const remote = server !== liveServer;
  const namespace = inputs.recoveryNamespace ?? inputs.namespace;
  const sameNamespace = !remote && namespace === inputs.namespace;
  if (sameNamespace && (inputs.recoveryNamespace || loaded)) {
    loaded?.dispose();
    throw new InputError(
      inputs.recoveryNamespace ? 'recovery-namespace' : 'recovery-context',
      `'${namespace}' on ${server} is the live cluster's own namespace; name ` +
        `a separate sandbox namespace (or leave recovery-namespace, recovery-kubeconfig ` +
        `and recovery-context empty to restore next to the live cluster).`,
    );
  }
  if (sameNamespace) return liveNamespaceSite(namespace, live.clients);
  const kubeconfig = loaded ? kc.exportConfig() : undefined;
  if (kubeconfig) core.setSecret(kubeconfig);
  return {
    kubeconfig,
    clients: loaded ? make(kc) : live.clients,
    namespace,
    remote,
    sameNamespace,
    server,
    where: `namespace ${namespace} of ${remote ? 'the recovery Kubernetes cluster ' : 'the live Kubernetes cluster '}${server}`,
    dispose: () => loaded?.dispose(),
  };
}

/** The original mode: the recovery cluster next to the live one. */
export function liveNamespaceSite(namespace: string, clients: KubeClients): RecoverySite {
  const server = clients.kc?.getCurrentCluster()?.server ?? '';
  return {
    clients,
    namespace,
    remote: false,
    sameNamespace: true,
    server,
    where: `namespace ${namespace} (next to the live cluster)`,
    dispose: () => {},
  };
}

export interface SiteNeeds {
  plugin: boolean;
  portForward: boolean;
  recordHistory: boolean;
  /** The live cluster's env/envFrom read ConfigMaps: copies are created and deleted there. */
  configMaps?: boolean;
  /** The live cluster names an existing ServiceAccount (spec.serviceAccountName): it is read there. */
  serviceAccount?: boolean;
}

interface Access {
  group: string;
  resource: string;
  subresource?: string;
  verbs: string[];
  clusterScope?: boolean;
}

/** Everything the drill does at a sandbox or recovery site (workflows/rbac/cnpg-restore-drill-sandbox.yaml grants exactly this). */
export function siteAccess(needs: SiteNeeds): Access[] {
  return [
    { group: CNPG_GROUP, resource: 'clusters', verbs: ['get', 'list', 'watch', 'create', 'delete'] },
    { group: '', resource: 'secrets', verbs: ['get', 'list', 'create', 'delete'] },
    { group: '', resource: 'pods', verbs: ['get', 'list', 'watch'] },
    { group: '', resource: 'pods', subresource: 'log', verbs: ['get'] },
    ...(needs.portForward
      ? [{ group: '', resource: 'pods', subresource: 'portforward', verbs: ['get', 'create'] }]
      : []),
    { group: 'batch', resource: 'jobs', verbs: ['list', 'watch'] },
    { group: '', resource: 'persistentvolumeclaims', verbs: ['list', 'watch'] },
    { group: '', resource: 'persistentvolumes', verbs: ['list'], clusterScope: true },
    ...(needs.plugin
      ? [{ group: BARMAN_CLOUD_GROUP, resource: 'objectstores', verbs: ['get', 'list', 'create', 'delete'] }]
      : []),
    ...configMapAccess(needs),
    ...(needs.serviceAccount ? [{ group: '', resource: 'serviceaccounts', verbs: ['get'] }] : []),
  ];
}

function configMapAccess(needs: SiteNeeds): Access[] {
  const verbs = [
    ...(needs.recordHistory ? ['get', 'create', 'update'] : []),
    ...(needs.configMaps ? ['list', 'create', 'delete'] : []),
  ];
  return verbs.length ? [{ group: '', resource: 'configmaps', verbs: [...new Set(verbs)] }] : [];
}

/** The site checks, in order; the first failure is thrown as one message naming the fix. */
export async function checkRecoverySite(site: RecoverySite, needs: SiteNeeds, retry?: RetryOptions): Promise<void> {
  const input = site.remote ? 'recovery-kubeconfig' : 'recovery-namespace';
  if (site.remote) {
    await checkReachable(site.clients).catch((err) => {
      throw new InputError(
        input,
        `${(err as Error).message.replace('Check the kubeconfig input', 'Check the recovery-kubeconfig input')}`,
      );
    });
  }
  const ns = await withRetry(
    `read namespace ${site.namespace}`,
    () => site.clients.core.readNamespace({ name: site.namespace }),
    retry,
  ).catch((err) => (statusOf(err) === 404 ? null : undefined));
  if (ns === null)
    throw new InputError(
      'recovery-namespace',
      `namespace '${site.namespace}' does not exist on ${site.server}; create it first ` +
        `(kubectl create namespace ${site.namespace}) and grant the drill's sandbox Role there.`,
    );
  const groups = await withRetry(
    'read API groups',
    () => makeApi(site.clients.kc, ApisApi, 10_000).getAPIVersions(),
    retry,
  ).catch((err) => {
    throw new Error(`Cannot read the API groups served at ${site.server}: ${describeError(err)}`);
  });
  const served = new Set(groups.groups.map((g) => g.name));
  const there = site.remote ? `the recovery cluster ${site.server}` : `the cluster ${site.server}`;
  if (!served.has(CNPG_GROUP))
    throw new InputError(
      input,
      `${there} does not serve ${CNPG_GROUP}: the CloudNativePG operator is not installed ` +
        `there; install it (and the Barman Cloud plugin for plugin-mode backups) before drilling.`,
    );
  if (needs.plugin && !served.has(BARMAN_CLOUD_GROUP)) {
    throw new InputError(
      input,
      `${there} does not serve ${BARMAN_CLOUD_GROUP}: the Barman Cloud plugin is not installed there, ` +
        `and the live cluster backs up through it; install plugin-barman-cloud on the recovery site.`,
    );
  }
  const missing = await deniedAccess(site, siteAccess(needs), retry);
  if (missing.length) {
    throw new InputError(
      site.remote ? 'recovery-kubeconfig' : 'kubeconfig',
      `the credentials cannot ${missing.join('; ')} in namespace ${site.namespace} on ${site.server}; ` +
        `grant the Role in workflows/rbac/cnpg-restore-drill-sandbox.yaml there (nothing was created).`,
    );
  }
}

/** The verbs SelfSubjectAccessReview denies, as "verb resource" strings. */
async function deniedAccess(site: RecoverySite, access: Access[], retry?: RetryOptions): Promise<string[]> {
  const api = makeApi(site.clients.kc, AuthorizationV1Api, 10_000);
  const denied: string[] = [];
  for (const a of access) {
    for (const verb of a.verbs) {
      const body = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            namespace: a.clusterScope ? undefined : site.namespace,
            verb,
            group: a.group,
            resource: a.resource,
            subresource: a.subresource,
          },
        },
      };
      const review = await withRetry(
        `review ${verb} ${a.resource}`,
        () => api.createSelfSubjectAccessReview({ body }),
        retry,
      );
      const res = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
      if (!review.status?.allowed) denied.push(`${verb} ${res}${a.clusterScope ? ' (cluster-wide)' : ''}`);
    }
  }
  return denied;
}
