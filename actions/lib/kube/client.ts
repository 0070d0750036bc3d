// Typed client-node API objects whose every request has a deadline: a hung API server must
// surface as a retryable timeout, never as a step that waits for the job timeout.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  VersionApi,
  createConfiguration,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { describeError } from '../errors.js';

type ApiConstructor<T> = new (config: ReturnType<typeof createConfiguration>) => T;

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  crds: ApiextensionsV1Api;
  objects: KubernetesObjectApi;
  version: VersionApi;
}

export function makeApi<T>(kc: KubeConfig, Api: ApiConstructor<T>, timeoutMs = 30_000): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: async (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return ctx;
        },
        post: async (ctx: ResponseContext) => ctx,
      },
    ],
  });
  return new Api(config);
}

export function makeClients(kc: KubeConfig, timeoutMs?: number): KubeClients {
  const objects = makeObjectApi(kc, timeoutMs);
  return {
    kc,
    core: makeApi(kc, CoreV1Api, timeoutMs),
    apps: makeApi(kc, AppsV1Api, timeoutMs),
    batch: makeApi(kc, BatchV1Api, timeoutMs),
    custom: makeApi(kc, CustomObjectsApi, timeoutMs),
    crds: makeApi(kc, ApiextensionsV1Api, timeoutMs),
    objects,
    version: makeApi(kc, VersionApi, timeoutMs),
  };
}

function makeObjectApi(kc: KubeConfig, timeoutMs?: number): KubernetesObjectApi {
  return makeApi(kc, KubernetesObjectApi as unknown as ApiConstructor<KubernetesObjectApi>, timeoutMs);
}

/** Fails with a message naming the server when the API cannot be reached (reference: kubectl get --raw /version). */
export async function checkReachable(clients: KubeClients): Promise<string> {
  const server = clients.kc.getCurrentCluster()?.server;
  try {
    const v = await clients.version.getCode();
    return v.gitVersion;
  } catch (err) {
    throw new Error(
      `Cannot reach the Kubernetes API at ${server}: ${describeError(err)}. ` +
        `Check the kubeconfig input and that the runner can reach the cluster.`,
      { cause: err },
    );
  }
}
