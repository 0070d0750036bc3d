// Least-privilege drills: apply the shipped RBAC examples (workflows/rbac/) to an RBAC-enforcing
// playground with their documented placeholders replaced, mint the ServiceAccount's token and
// write the kubeconfig the runner would hold; check both sides for anything the drill left.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers/run-action.js';
import type { KubeObject, PlaygroundHandle } from '../playground/types.js';
import { leftovers } from './support.js';

const GVR: Record<string, string> = {
  Role: 'rbac.authorization.k8s.io/v1/roles',
  RoleBinding: 'rbac.authorization.k8s.io/v1/rolebindings',
  ClusterRole: 'rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1/clusterrolebindings',
};
export const SA = { namespace: 'ci', name: 'cnpg-restore-drill' };

/** Applies workflows/rbac/<file> with placeholder -> value replacements (what a user edits). */
export function applyRbacExample(pgd: PlaygroundHandle, file: string, replace: Record<string, string>): void {
  let text = readFileSync(join(repoRoot, 'workflows', 'rbac', file), 'utf8');
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as KubeObject;
    pgd.store.create(GVR[o.kind], o);
  }
}

/** Binds an example's Role (in `namespace`) or ClusterRole (no namespace) to the ServiceAccount `SA`. */
export function bindToServiceAccount(pgd: PlaygroundHandle, role: string, namespace?: string): void {
  const kind = namespace ? 'RoleBinding' : 'ClusterRoleBinding';
  pgd.store.create(GVR[kind], {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name: role, ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: namespace ? 'Role' : 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: SA.name, namespace: SA.namespace }],
  });
}

/** The ServiceAccount in `ci` and a kubeconfig (YAML) authenticating as it with a bound token. */
export function serviceAccountKubeconfig(pgd: PlaygroundHandle, name = 'sa'): string {
  if (!pgd.store.get('v1/namespaces', undefined, SA.namespace))
    pgd.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SA.namespace } });
  if (!pgd.store.get('v1/serviceaccounts', SA.namespace, SA.name))
    pgd.store.create('v1/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: SA });
  // A day, as a kubeconfig secret's token would: the drill's preflight shortens or refuses a drill
  // whose credentials expire before its worst case (kube/credentials.ts), and a suite runs long.
  return readFileSync(pgd.kubeconfigFor(pgd.mintToken(SA.namespace, SA.name, 24 * 3600), name), 'utf8');
}

/** Drill leftovers in a namespace: the recovery cluster's objects and any copy labelled as the drill's. */
export function siteLeftovers(pgd: PlaygroundHandle, namespace: string, recovery: string): string[] {
  const out = leftovers(pgd, namespace, recovery);
  const sel = { labelSelector: 'app.kubernetes.io/managed-by=cnpg-restore-drill,cnpg-actions.io/copy-for' };
  for (const s of pgd.store.list('v1/secrets', namespace, sel).items) out.push(`Secret/${s.metadata.name}`);
  for (const s of pgd.store.list('v1/configmaps', namespace, sel).items) out.push(`ConfigMap/${s.metadata.name}`);
  for (const s of pgd.store.list('barmancloud.cnpg.io/v1/objectstores', namespace, sel).items)
    out.push(`ObjectStore/${s.metadata.name}`);
  return out;
}

/** Requests by the drill's ServiceAccount that changed something in `namespace` (none allowed on live). */
export function writesIn(pgd: PlaygroundHandle, namespace: string, since: number): string[] {
  return pgd.requestLog
    .entries()
    .filter(
      (e) =>
        e.time >= since &&
        ['POST', 'PUT', 'PATCH', 'DELETE'].includes(e.method) &&
        e.path.includes(`/namespaces/${namespace}/`) &&
        e.status < 300,
    )
    .map((e) => `${e.method} ${e.path} ${e.status}`);
}

/** Requests the API server refused with 403 since `since`. */
export function forbidden(pgd: PlaygroundHandle, since: number): string[] {
  return pgd.requestLog
    .entries()
    .filter((e) => e.time >= since && e.status === 403)
    .map((e) => `${e.method} ${e.path}`);
}
