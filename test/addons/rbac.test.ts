// addon-sync through a ServiceAccount token on the RBAC-enforcing playground, with exactly the
// permissions of workflows/rbac/addon-sync.yaml (apply) and addon-sync-readonly.yaml (plan): a
// dedicated cluster is provisioned and deprovisioned with no 403.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRbacExample, forbidden, SA, serviceAccountKubeconfig } from '../drill/least-privilege.js';
import { CLUSTERS, deployApp, envOf, explain, NS, startBed, sync, variantToml, writeApp, type Bed } from './helpers.js';

let bed: Bed;
let kubeconfig: string;
const bind = (kind: 'RoleBinding' | 'ClusterRoleBinding', role: string, roleKind: 'Role' | 'ClusterRole') => {
  const plural = kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings';
  bed.pg.store.create(`rbac.authorization.k8s.io/v1/${plural}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name: role, ...(kind === 'RoleBinding' ? { namespace: NS } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
    subjects: [{ kind: 'ServiceAccount', name: SA.name, namespace: SA.namespace }],
  });
};

beforeAll(async () => {
  bed = await startBed({ rbac: true });
  bed.pg.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kubeconfig = serviceAccountKubeconfig(bed.pg);
  applyRbacExample(bed.pg, 'addon-sync.yaml', {});
  applyRbacExample(bed.pg, 'addon-sync-readonly.yaml', {});
}, 300_000);
afterAll(async () => {
  await bed?.stop();
});

describe('addon-sync with the example RBAC only', () => {
  it('plan with addon-sync-readonly.yaml: no 403', async () => {
    bind('RoleBinding', 'addon-sync-plan', 'Role');
    bind('ClusterRoleBinding', 'addon-sync-plan-apps', 'ClusterRole');
    deployApp(bed, 'shop');
    writeApp(bed, 'shop', variantToml('small'));
    const since = Date.now();
    const r = await sync(bed, { kubeconfig, mode: 'plan' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(forbidden(bed.pg, since)).toEqual([]);
  });

  it('apply: provisions a dedicated cluster, then deprovisions it, with no 403', async () => {
    bind('RoleBinding', 'addon-sync', 'Role');
    bind('ClusterRoleBinding', 'addon-sync-apps', 'ClusterRole');
    const since = Date.now();
    const r = await sync(bed, { kubeconfig });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(envOf(bed, 'shop')?.PGHOST).toBe(`shop-pg-rw.${NS}.svc`);
    writeApp(bed, 'shop', '[addons]\n');
    const d = await sync(bed, { kubeconfig });
    expect(d.exitCode, explain(d)).toBe(0);
    expect(d.outputs.removed).toBe('1');
    expect(bed.pg.store.get(CLUSTERS, NS, 'shop-pg')).toBeUndefined();
    expect(forbidden(bed.pg, since)).toEqual([]);
  });
});
