// Discovery documents (/version, /api, /apis, group-version resource lists), computed from
// the types the store serves right now so CRDs appear once Established.
import type { ResourceType } from '../types.js';
import { apiVersionOf } from './builtins.js';

export const KUBE_VERSION = { major: '1', minor: '34', gitVersion: 'v1.34.5' };

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function versionInfo(): Record<string, string> {
  return {
    ...KUBE_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.24.0',
    compiler: 'gc',
    platform: 'linux/amd64',
    emulation: 'cnpg-playground',
  };
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    return [m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pb[i] - pa[i];
  return a.localeCompare(b);
}

export function groupVersions(types: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, Set<string>>();
  for (const t of types) {
    if (!groups.has(t.group)) groups.set(t.group, new Set());
    groups.get(t.group)!.add(t.version);
  }
  return new Map([...groups].map(([g, vs]) => [g, [...vs].sort(compareVersions)]));
}

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(types: ResourceType[]): unknown {
  const groups = [...groupVersions(types)].filter(([g]) => g !== '').map(([g, vs]) => apiGroup(g, vs));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroupDoc(types: ResourceType[], group: string): unknown | undefined {
  const vs = groupVersions(types).get(group);
  return vs && { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, vs) };
}

export function resourceList(types: ResourceType[], group: string, version: string): unknown | undefined {
  const inGv = types.filter((t) => t.group === group && t.version === version);
  if (inGv.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const t of inGv) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.plural === 'namespaces' ? VERBS.filter((v) => v !== 'deletecollection') : VERBS,
      ...(t.shortNames?.length ? { shortNames: t.shortNames } : {}),
      ...(ALL_CATEGORY.has(t.plural) && t.group !== 'apiextensions.k8s.io' ? { categories: ['all'] } : {}),
    });
    if (t.statusSubresource)
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    if (t.kind === 'Pod' && group === '') {
      resources.push({ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
      resources.push({
        name: 'pods/portforward',
        singularName: '',
        namespaced: true,
        kind: 'PodPortForwardOptions',
        verbs: ['create', 'get'],
      });
    }
    if (['Deployment', 'ReplicaSet', 'StatefulSet'].includes(t.kind)) {
      resources.push({
        name: `${t.plural}/scale`,
        singularName: '',
        namespaced: true,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

// `kubectl get all` lists the "all" category.
const ALL_CATEGORY = new Set(['pods', 'services', 'deployments', 'replicasets', 'statefulsets', 'jobs']);
