// Why CRDs travel raw: client-node 1.4's typed serialization (what KubernetesObjectApi does
// with a V1CustomResourceDefinition) drops enum, default and the x-kubernetes-* keywords of a
// raw object, leaving non-structural schemas; applyRawCrd keeps the schema as the chart has it.
// Also: which CRDs are Helm's (templated) and which need creating first, with Helm's metadata.
import { KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRawCrd, crdsNeededFirst, withHelmOwnership } from '../../actions/lib/platform/crds.js';
import { makeClients } from '../../actions/lib/kube/client.js';
import { parseManifest, type KubeObjectLike } from '../../actions/lib/platform/render.js';
import { clusterCrd } from '../fixtures/charts/upstream/cnpg-crds.js';
import { describeError } from '../../actions/lib/errors.js';
import { startTestServer, type TestServer } from '../playground/apiserver/testing.js';
import { keywordCounts, schemaDifferences } from './crd-compare.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rootSchema = (crd: any) => crd.spec.versions[0].schema.openAPIV3Schema;

describe('a CRD through client-node 1.4 (typed) and raw', () => {
  let api: TestServer;
  let clients: ReturnType<typeof makeClients>;
  beforeAll(async () => {
    api = await startTestServer();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: api.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    clients = makeClients(kc);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('typed: KubernetesObjectApi serializes it as V1CustomResourceDefinition, dropping enum/default/x-kubernetes-*, and the server refuses the non-structural rest', async () => {
    const crd = clusterCrd('1.30') as unknown as KubeObjectLike;
    const err = await clients.objects
      .patch(crd as never, undefined, undefined, 'platform-install', true, PatchStrategy.ServerSideApply)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(describeError(err)).toContain('HTTP 422');
    expect(describeError(err)).toContain(
      'properties[spec].properties[ephemeralVolumesSizeLimit].properties[shm].type: Required value: must not be empty for specified object fields',
    );
    expect((await api.req('GET', `${CRDS}/clusters.postgresql.cnpg.io`)).status).toBe(404);
  });

  it('raw: applyRawCrd reaches the server with every keyword of the chart intact', async () => {
    const crd = clusterCrd('1.30') as unknown as KubeObjectLike;
    await applyRawCrd(clients, crd, { fieldManager: 'platform-install' });
    const stored = (await api.req('GET', `${CRDS}/clusters.postgresql.cnpg.io`)).body;
    expect(schemaDifferences(rootSchema(stored), rootSchema(crd))).toEqual([]);
    const counts = keywordCounts(rootSchema(stored));
    expect(counts).toEqual(keywordCounts(rootSchema(crd)));
    expect(counts.enum).toBeGreaterThan(10);
    expect(counts['x-kubernetes-validations']).toBeGreaterThan(5);
  });
});

describe('templated CRDs', () => {
  const manifest = [
    '---\n# Source: platform/charts/plugin-barman-cloud/templates/crds/crds.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: objectstores.barmancloud.cnpg.io\n  annotations:\n    helm.sh/resource-policy: keep\nspec:\n  group: barmancloud.cnpg.io\n  names: {kind: ObjectStore, plural: objectstores}\n  versions: [{name: v1, served: true, storage: true}]\n',
    '---\n# Source: platform/charts/cloudnative-pg/templates/crds/crds.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: poolers.postgresql.cnpg.io\nspec:\n  group: postgresql.cnpg.io\n  names: {kind: Pooler, plural: poolers}\n  versions: [{name: v1, served: true, storage: true}]\n',
    '---\n# Source: platform/charts/legacy/crds/widgets.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  versions: [{name: v1, served: true, storage: true}]\n',
    '---\n# Source: platform/templates/objectstore.yaml\napiVersion: barmancloud.cnpg.io/v1\nkind: ObjectStore\nmetadata:\n  name: platform-backups\n',
  ].join('');
  const rendered = parseManifest(manifest);

  it("a chart's crds/ folder is not a templates/crds/ directory", () => {
    expect(rendered.map((r) => r.fromCrdDir)).toEqual([false, false, true, false]);
  });

  it('creates first only the templated CRDs objects of the release need and the cluster does not serve', async () => {
    const none = async () => undefined;
    expect((await crdsNeededFirst(rendered, none)).map((r) => r.object.metadata.name)).toEqual([
      'objectstores.barmancloud.cnpg.io',
    ]);
    expect(
      await crdsNeededFirst(rendered, async (av, kind) => av === 'barmancloud.cnpg.io/v1' && kind === 'ObjectStore'),
    ).toEqual([]);
  });

  it('gives them the ownership metadata Helm checks before adopting (pkg/action/validate.go)', () => {
    const owned = withHelmOwnership(rendered[0], 'platform', 'cnpg-system').object.metadata;
    expect(owned.labels).toEqual({ 'app.kubernetes.io/managed-by': 'Helm' });
    expect(owned.annotations).toEqual({
      'helm.sh/resource-policy': 'keep',
      'meta.helm.sh/release-name': 'platform',
      'meta.helm.sh/release-namespace': 'cnpg-system',
    });
    expect(rendered[0].object.metadata.labels).toBeUndefined();
  });
});
