// A recovery that cannot start fails within the grace, naming what blocks it (start-check.ts),
// read from what the API server emulator's controllers really do: no Job at all (CNPG's refused
// create, cloudnative-pg#6753), or a pod whose image cannot be pulled.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cannotStart } from '../../actions/lib/drill/start-check.js';
import { makeClients, type KubeClients } from '../../actions/lib/kube/client.js';
import { cnpgCrds } from '../fixtures/charts/upstream/cnpg-crds.js';
import { eventually, startTestServer, type TestServer } from '../playground/apiserver/testing.js';
import { kubeconfigYaml } from '../playground/kubeconfig.js';
import { createTiming } from '../playground/timing.js';

let s: TestServer;
let clients: KubeClients;
beforeAll(async () => {
  s = await startTestServer();
  for (const crd of cnpgCrds('1.30'))
    expect((await s.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
  // A CRD is served once Established, asynchronously.
  await eventually(async () => (await s.req('GET', '/apis/postgresql.cnpg.io/v1/clusters')).status === 200);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(s.url));
  clients = makeClients(kc, 5_000);
});
afterAll(async () => {
  await s?.stop();
});

const check = (name: string, started = () => false) =>
  cannotStart(clients, 'default', name, {
    created: Date.now(),
    started,
    signal: AbortSignal.timeout(20_000),
    graceMs: 150,
    pollMs: 100,
  });

describe('a recovery that cannot start', () => {
  it('no Job and no pod (the operator could not create them): fails naming the Job and the phase', async () => {
    const c = s.store.create('postgresql.cnpg.io/v1/clusters', {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: 'lost-drill-1-1', namespace: 'default' },
      spec: { instances: 1, storage: { size: '1Gi' } },
    });
    s.store.mutate(
      'postgresql.cnpg.io/v1/clusters',
      'default',
      c.metadata.name,
      (o) => {
        o.status = { phase: 'Setting up primary', phaseReason: 'Creating primary instance lost-drill-1-1-1' };
      },
      { status: true },
    );
    const started = Date.now();
    const r = await check('lost-drill-1-1');
    expect(r.fail).toMatch(
      /^recovery cluster lost-drill-1-1 could not start its restore within \d+ s: the operator created neither the recovery Job lost-drill-1-1-1-full-recovery nor the instance pod lost-drill-1-1-1 \(cluster phase 'Setting up primary': Creating primary instance lost-drill-1-1-1\)/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a pod whose image cannot be pulled (a missing pull secret): fails naming the pod and the kubelet's reason", async () => {
    await s.req('POST', '/apis/batch/v1/namespaces/default/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pulled-drill-1-1-1-full-recovery', labels: { 'cnpg.io/cluster': 'pulled-drill-1-1' } },
      spec: {
        template: {
          metadata: { labels: { 'cnpg.io/cluster': 'pulled-drill-1-1' } },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'full-recovery', image: 'registry.example/does-not-exist:1' }],
          },
        },
      },
    });
    const r = await check('pulled-drill-1-1');
    expect(r.fail).toMatch(
      /could not start its restore within \d+ s: pod pulled-drill-1-1-1-full-recovery-\w+ container full-recovery is waiting in ImagePullBackOff \(Back-off pulling image "registry.example\/does-not-exist:1"\)$/,
    );
  });

  it('says nothing once the restore container started', async () => {
    const r = await Promise.race([
      check('lost-drill-1-1', () => true),
      // The grace and six polls: each would have judged a recovery that had not started.
      new Promise((ok) => setTimeout(() => ok('quiet'), 750)),
    ]);
    expect(r).toBe('quiet');
  });
});

describe('a pod that references a missing Secret', () => {
  it('waits in CreateContainerConfigError (the kubelet), and the drill names the Secret', async () => {
    await s.req('POST', '/apis/batch/v1/namespaces/default/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'env-drill-1-1-1-full-recovery', labels: { 'cnpg.io/cluster': 'env-drill-1-1' } },
      spec: {
        template: {
          metadata: { labels: { 'cnpg.io/cluster': 'env-drill-1-1' } },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'full-recovery',
                image: 'ghcr.io/cloudnative-pg/postgresql:17',
                env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'proxy-creds', key: 'password' } } }],
              },
            ],
          },
        },
      },
    });
    const r = await check('env-drill-1-1');
    expect(r.fail).toMatch(
      /pod env-drill-1-1-1-full-recovery-\w+ container full-recovery is waiting in CreateContainerConfigError \(secret "proxy-creds" not found\)$/,
    );
  });
});

describe('a pod pulling its image', () => {
  it('is not judged, however long the pull takes past the grace (ContainerCreating is on its way)', async () => {
    // A seed whose first pull outlasts the grace many polls over.
    let seed = 1;
    while (createTiming({ seed }).delay('imagePull') < 1_500) seed++;
    const slow = await startTestServer({ timing: createTiming({ seed }) });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml(slow.url));
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pull-drill-1-1-1-full-recovery', labels: { 'cnpg.io/cluster': 'pull-drill-1-1' } },
      spec: {
        template: {
          metadata: { labels: { 'cnpg.io/cluster': 'pull-drill-1-1' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'full-recovery', image: 'ghcr.io/x/postgresql:17' }] },
        },
      },
    };
    try {
      expect((await slow.req('POST', '/apis/batch/v1/namespaces/default/jobs', job)).status).toBe(201);
      const pods = () => slow.store.list('v1/pods', 'default').items;
      const reason = () => pods()[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      await eventually(() => reason() === 'ContainerCreating');
      const r = await Promise.race([
        cannotStart(makeClients(kc, 5_000), 'default', 'pull-drill-1-1', {
          created: Date.now(),
          started: () => false,
          signal: AbortSignal.timeout(20_000),
          graceMs: 150,
          pollMs: 100,
        }),
        new Promise((ok) => setTimeout(() => ok('quiet'), 1_000)),
      ]);
      expect(r).toBe('quiet');
      expect(reason()).toBe('ContainerCreating'); // still pulling: the check was quiet during the pull
    } finally {
      await slow.stop();
    }
  });
});
