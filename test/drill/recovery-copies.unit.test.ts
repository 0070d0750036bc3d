// The sandbox / DR copies (recovery-copies.ts) against the API server emulator, which validates
// Secret types as ValidateSecret does: every copy is valid, everything the recovery pod references
// is copied or refused before anything is created.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCopies, planCopies, retargetManifest, type CopyContext } from '../../actions/lib/drill/recovery-copies.js';
import { makeClients } from '../../actions/lib/kube/client.js';
import type { Cluster, ObjectStore } from '../../actions/lib/cnpg/types.js';
import { eventually, startTestServer, type TestServer } from '../playground/apiserver/testing.js';
import { kubeconfigYaml } from '../playground/kubeconfig.js';
import { objectStoreCrd } from '../fixtures/charts/upstream/cnpg-crds.js';

let s: TestServer;
let ctx: CopyContext;
const LIVE = 'databases';
const SITE = 'drill-sandbox';
const R = 'pg-main-drill-7-1';
const b64 = (v: string) => Buffer.from(v).toString('base64');

beforeAll(async () => {
  s = await startTestServer();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(s.url));
  const clients = makeClients(kc, 5_000);
  const crd = await s.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', objectStoreCrd());
  expect(crd.status).toBe(201);
  // A CRD is served once Established, asynchronously.
  await eventually(async () => (await s.req('GET', '/apis/barmancloud.cnpg.io/v1/objectstores')).status === 200);
  for (const ns of [LIVE, SITE])
    s.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const secret = (name: string, type: string, data: Record<string, string>) =>
    s.store.create('v1/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: LIVE }, type, data });
  // cert-manager's CA secret: kubernetes.io/tls with ca.crt, tls.crt, tls.key; only ca.crt is the endpointCA.
  secret('minio-ca', 'kubernetes.io/tls', { 'ca.crt': b64('CA'), 'tls.crt': b64('CRT'), 'tls.key': b64('PRIVATE') });
  secret('backup-creds', 'kubernetes.io/basic-auth', { username: b64('id'), password: b64('key'), extra: b64('x') });
  secret('regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64('{"auths":{}}') });
  secret('proxy', 'Opaque', { HTTPS_PROXY: b64('http://proxy:3128') });
  secret('sidecar-token', 'Opaque', { TOKEN: b64('t0ken') });
  s.store.create('v1/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'tuning', namespace: LIVE },
    data: { TZ: 'UTC', OTHER: 'x' },
  });
  ctx = {
    core: { setSecret: () => {} },
    live: clients,
    liveNamespace: LIVE,
    site: clients,
    namespace: SITE,
    recovery: R,
    labels: { 'cnpg-actions.io/copy-for': R },
  };
});
afterAll(async () => {
  await s?.stop();
});

const store = {
  destinationPath: 's3://b/p',
  endpointCA: { name: 'minio-ca', key: 'ca.crt' },
  s3Credentials: {
    accessKeyId: { name: 'backup-creds', key: 'username' },
    secretAccessKey: { name: 'backup-creds', key: 'password' },
  },
};
const objectStore = {
  metadata: { name: 'pg-main-store' },
  spec: {
    configuration: store,
    instanceSidecarConfiguration: {
      env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'sidecar-token', key: 'TOKEN' } } }],
    },
  },
} as unknown as ObjectStore;
const pod = {
  imagePullSecrets: [{ name: 'regcred' }],
  env: [
    { name: 'TZ', valueFrom: { configMapKeyRef: { name: 'tuning', key: 'TZ' } } },
    { name: 'OPT', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } },
  ],
  envFrom: [{ secretRef: { name: 'proxy' } }],
};

describe('copies the recovery pod can use', () => {
  it('copies only the keys read, as Opaque (a tls copy without tls.key would be refused); pull secrets whole', async () => {
    const plan = planCopies(store, objectStore, pod);
    await makeCopies(ctx, plan, true);
    const made = await makeCopies(ctx, plan);
    expect(made).toEqual([
      `Secret ${SITE}/${R}-minio-ca`,
      `Secret ${SITE}/${R}-backup-creds`,
      `Secret ${SITE}/${R}-sidecar-token`,
      `Secret ${SITE}/${R}-proxy`,
      `Secret ${SITE}/${R}-regcred`,
      `ConfigMap ${SITE}/${R}-tuning`,
      `ObjectStore ${SITE}/${R}-pg-main-store`,
    ]);
    const ca = s.store.get('v1/secrets', SITE, `${R}-minio-ca`)!;
    expect(ca.type).toBe('Opaque');
    expect(Object.keys(ca.data)).toEqual(['ca.crt']); // the CA's private key is never copied
    expect(Object.keys(s.store.get('v1/secrets', SITE, `${R}-backup-creds`)!.data).sort()).toEqual([
      'password',
      'username',
    ]);
    expect(s.store.get('v1/secrets', SITE, `${R}-regcred`)!.type).toBe('kubernetes.io/dockerconfigjson');
    expect(s.store.get('v1/configmaps', SITE, `${R}-tuning`)!.data).toEqual({ TZ: 'UTC' });
  });

  it('the ObjectStore copy and the manifest point at the copies (sidecar env, env, envFrom, pull secrets)', () => {
    const os = s.store.get('barmancloud.cnpg.io/v1/objectstores', SITE, `${R}-pg-main-store`)!;
    expect(os.spec.instanceSidecarConfiguration.env[0].valueFrom.secretKeyRef.name).toBe(`${R}-sidecar-token`);
    const m = { metadata: { name: R }, spec: structuredClone(pod) } as unknown as Cluster;
    retargetManifest(m, SITE, planCopies(store, objectStore, pod));
    expect(m.spec.imagePullSecrets).toEqual([{ name: `${R}-regcred` }]);
    expect((m.spec.envFrom as { secretRef: { name: string } }[])[0].secretRef.name).toBe(`${R}-proxy`);
    expect(JSON.stringify(m.spec.env)).toContain(`"name":"${R}-tuning"`);
  });

  it('refuses, before anything is created, a missing source or a ServiceAccount missing at the site', async () => {
    const missing = planCopies(store, undefined, { envFrom: [{ configMapRef: { name: 'nope' } }] });
    await expect(makeCopies({ ...ctx, recovery: 'r2' }, missing, true)).rejects.toThrow(
      `ConfigMap ${LIVE}/nope, which the recovery pod needs (the live cluster references it), does not exist; nothing was created`,
    );
    const sa = planCopies(store, undefined, { serviceAccountName: 'irsa-backup' });
    await expect(makeCopies({ ...ctx, recovery: 'r3' }, sa, true)).rejects.toThrow(
      `ServiceAccount irsa-backup (spec.serviceAccountName of the live cluster) does not exist in namespace ${SITE} of the recovery site`,
    );
    expect(s.store.list('v1/secrets', SITE).items.filter((x) => /^r[23]-/.test(x.metadata.name))).toEqual([]);
  });
});
