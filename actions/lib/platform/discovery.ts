// What the cluster serves right now (API discovery): the group/versions for helm's
// .Capabilities.APIVersions and, per group/version the chart uses, its kinds and scope.
import { ApisApi } from '@kubernetes/client-node';
import { makeApi, type KubeClients } from '../kube/client.js';
import { statusOf, withRetry } from '../kube/retry.js';

export interface ServedKind {
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface Discovery {
  /** Every served group/version, e.g. v1, apps/v1, postgresql.cnpg.io/v1. */
  groupVersions: string[];
  /** Kinds of one group/version; undefined when the group/version is not served. */
  kinds(groupVersion: string): Promise<ServedKind[] | undefined>;
  kind(apiVersion: string, kind: string): Promise<ServedKind | undefined>;
}

export async function discover(clients: KubeClients): Promise<Discovery> {
  const apis = makeApi(clients.kc, ApisApi);
  const groups = await withRetry('API discovery', () => apis.getAPIVersions());
  const groupVersions = ['v1', ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
  const cache = new Map<string, Promise<ServedKind[] | undefined>>();
  const load = async (gv: string): Promise<ServedKind[] | undefined> => {
    if (!groupVersions.includes(gv)) return undefined;
    const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
    try {
      const list = await withRetry(`discovery of ${gv}`, () =>
        group ? clients.custom.getAPIResources({ group, version }) : clients.core.getAPIResources(),
      );
      return list.resources
        .filter((r) => !r.name.includes('/'))
        .map((r) => ({ kind: r.kind, plural: r.name, namespaced: r.namespaced }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  };
  const kinds = (gv: string) => {
    if (!cache.has(gv)) cache.set(gv, load(gv));
    return cache.get(gv)!;
  };
  return {
    groupVersions,
    kinds,
    kind: async (apiVersion, kind) => (await kinds(apiVersion))?.find((k) => k.kind === kind),
  };
}
