// Teardown's volume check (teardown.ts) against the API server emulator, whose provisioner deletes a
// released Delete-policy PV only seconds after its claim is gone (as a CSI external-provisioner does).
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { teardownCluster } from '../../actions/lib/drill/teardown.js';
import { makeClients } from '../../actions/lib/kube/client.js';
import { cnpgCrds } from '../fixtures/charts/upstream/cnpg-crds.js';
import { eventually, startTestServer, type TestServer } from '../playground/apiserver/testing.js';
import { kubeconfigYaml } from '../playground/kubeconfig.js';

const PVC = '/api/v1/namespaces/default/persistentvolumeclaims';
// Re-list the volumes every 100 ms (not teardown.ts's 1 s), so the provisioner's delay and the
// deadline below can be short: what is proven is waited-for vs reported, not the poll's period.
const FAST_POLL = { volumePollMs: 100 };
let s: TestServer | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

async function serverWithClaim(volumeDeleteDelayMs: number, storageClassName = 'standard') {
  s = await startTestServer({ volumeDeleteDelayMs });
  for (const crd of cnpgCrds('1.30'))
    expect((await s.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
  // A CRD is served once Established, asynchronously.
  await eventually(async () => (await s!.req('GET', '/apis/postgresql.cnpg.io/v1/clusters')).status === 200);
  await s.req('POST', PVC, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'd-drill-1-1', labels: { 'cnpg.io/cluster': 'd-drill-1' } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName },
  });
  const pv = await eventually(async () => (await s!.req('GET', `${PVC}/d-drill-1-1`)).body.spec.volumeName);
  // What the operator's foreground deletion of the Cluster leaves: the claim going away.
  await s.req('DELETE', `${PVC}/d-drill-1-1`);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(s.url));
  return { clients: makeClients(kc, 5_000), pv: pv as string };
}

describe('teardown waits for the provisioner to delete Delete-policy volumes', () => {
  it('a volume the provisioner deletes seconds after its claim is waited for, not reported', async () => {
    const { clients, pv } = await serverWithClaim(1_000);
    const t = await teardownCluster(clients, 'default', 'd-drill-1', { deadline: Date.now() + 20_000, ...FAST_POLL });
    expect(t.leftovers).toEqual([]);
    expect(t.clean).toBe(true);
    expect((await s!.req('GET', `/api/v1/persistentvolumes/${pv}`)).status).toBe(404);
    expect(t.ms).toBeGreaterThan(500);
  });

  it('a Delete volume still there at the deadline is reported', async () => {
    const { clients, pv } = await serverWithClaim(60_000);
    const t = await teardownCluster(clients, 'default', 'd-drill-1', { deadline: Date.now() + 1_000, ...FAST_POLL });
    expect(t.clean).toBe(false);
    expect(t.leftovers).toEqual([
      `PersistentVolume ${pv} (claim d-drill-1-1) is Released with reclaim policy Delete: its provisioner did not delete it before the teardown deadline; check its events`,
    ]);
  });

  it('a cancelled main does not wait for Delete volumes (volumeDeadline now): they are left to the post step', async () => {
    const { clients, pv } = await serverWithClaim(2_500);
    const t = await teardownCluster(clients, 'default', 'd-drill-1', {
      deadline: Date.now() + 20_000,
      volumeDeadline: Date.now(),
    });
    expect(t.clean).toBe(false);
    expect(t.leftovers[0]).toMatch(new RegExp(`^PersistentVolume ${pv} \\(claim d-drill-1-1\\) is Released`));
    expect(t.ms).toBeLessThan(2_000);
  });

  it('a Retain volume is reported at once, without waiting for the deadline', async () => {
    const { clients, pv } = await serverWithClaim(60_000, 'retain');
    const t = await teardownCluster(clients, 'default', 'd-drill-1', { deadline: Date.now() + 60_000 });
    expect(t.leftovers).toEqual([
      `PersistentVolume ${pv} (claim d-drill-1-1) is Released with reclaim policy Retain: delete it by hand`,
    ]);
    expect(t.ms).toBeLessThan(10_000);
  });
});
