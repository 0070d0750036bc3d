// addon-sync through a ServiceAccount token on the RBAC-enforcing playground, with exactly the
// permissions of workflows/rbac/addon-sync.yaml (apply) and addon-sync-readonly.yaml (plan): a
// dedicated cluster is provisioned and deprovisioned with no 403.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRbacExample,
  bindToServiceAccount,
  forbidden,
  serviceAccountKubeconfig,
} from '../drill/least-privilege.js';
import { CLUSTERS, deployApp, envOf, explain, NS, startBed, sync, variantToml, writeApp, type Bed } from './helpers.js';

let bed: Bed;
let kubeconfig: string;

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
    bindToServiceAccount(bed.pg, 'addon-sync-plan', NS);
    bindToServiceAccount(bed.pg, 'addon-sync-plan-apps');
    deployApp(bed, 'shop');
    writeApp(bed, 'shop', variantToml('small'));
    const since = Date.now();
    const r = await sync(bed, { kubeconfig, mode: 'plan' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(forbidden(bed.pg, since)).toEqual([]);
  });

  it('apply: provisions a dedicated cluster, then deprovisions it, with no 403', async () => {
    bindToServiceAccount(bed.pg, 'addon-sync', NS);
    bindToServiceAccount(bed.pg, 'addon-sync-apps');
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
