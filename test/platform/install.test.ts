// platform-install e2e on the playground (real helm v4, the bundle under Node 24): fresh install,
// upgrade with a CRD change, the minor-skip guard, a pinned operator image caught after a green
// helm run, and an unavailable Deployment rolled back with diagnostics.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets } from '../helpers/run-action.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { installer, RELEASE, type Installer } from './e2e.js';
import { chartVariant, cleanupVariants, writeValues } from './fixture.js';

let pg: PlaygroundHandle;
let t: Installer;
const NS = 'cnpg-system';

beforeAll(async () => {
  pg = await startPlayground();
  t = installer(pg);
});
afterAll(async () => {
  t?.dispose();
  cleanupVariants();
  await pg?.stop();
});

const deployImage = () =>
  t.kubectl(
    '-n',
    NS,
    'get',
    'deploy',
    `${RELEASE}-cloudnative-pg`,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  );
const crdSpecFields = async () =>
  Object.keys(
    JSON.parse(await t.kubectl('get', 'crd', 'clusters.fixture.cnpg-actions.io', '-o', 'json')).spec.versions[0].schema
      .openAPIV3Schema.properties.spec.properties,
  ).sort();
const history = async () =>
  JSON.parse(await t.helm('history', RELEASE, '-n', NS, '-o', 'json')) as {
    revision: number;
    status: string;
    app_version: string;
    description: string;
  }[];

describe('platform-install', () => {
  it('installs the fixture chart fresh: CRDs applied and Established, operator verified', async () => {
    // Credentials as a workflow passes them: the kubeconfig input, base64 of the file.
    const kubeconfig = Buffer.from(readFileSync(pg.kubeconfigPath)).toString('base64');
    const runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
    const r = await t.install(
      { chart: chartVariant({ operatorVersion: '1.27.1' }), kubeconfig },
      { RUNNER_TEMP: runnerTemp },
    );
    expect(r.errors).toEqual([]);
    // The 0600 kubeconfig file written from the input is gone once the step ends.
    expect(readdirSync(runnerTemp)).toEqual([]);
    rmSync(runnerTemp, { recursive: true });
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toEqual({
      'crds-applied': 'clusters.fixture.cnpg-actions.io',
      revision: '1',
      'chart-version': '1.0.0',
      'operator-version': '1.27.1',
    });
    expect(await deployImage()).toBe('ghcr.io/cloudnative-pg/cloudnative-pg:1.27.1');
    expect(
      await t.kubectl(
        'get',
        'crd',
        'clusters.fixture.cnpg-actions.io',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ),
    ).toBe('True');
    expect(r.summary).toContain('✅ installed');
    expect(r.summary).toMatch(/operator version \| - \| 1\.27\.1/);
    expect(r.summary).toMatch(/clusters\.fixture\.cnpg-actions\.io \| created/);
    expect(r.summary).toMatch(/server-side dry-run.*skipped \(namespace cnpg-system does not exist yet/);
    expect(r.masked).toEqual(expect.arrayContaining([kubeconfig, 'playground-token']));
    expect(leakedSecrets(r, [kubeconfig, 'playground-token'])).toEqual([]);
  });

  it('upgrades one minor and rolls the CRD change that helm itself would not apply', async () => {
    expect(await crdSpecFields()).toEqual(['imageName', 'instances']);
    const r = await t.install({
      chart: chartVariant({ operatorVersion: '1.28.0', chartVersion: '1.1.0', crdFields: ['walStorage'] }),
    });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({
      revision: '2',
      'chart-version': '1.1.0',
      'operator-version': '1.28.0',
      'crds-applied': 'clusters.fixture.cnpg-actions.io',
    });
    expect(await crdSpecFields()).toEqual(['imageName', 'instances', 'walStorage']);
    const crdPatches = pg.requestLog
      .entries()
      .filter(
        (e) =>
          e.method === 'PATCH' &&
          e.path === '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.fixture.cnpg-actions.io',
      );
    // Each run dry-runs the CRD first (the server judges its schema), then applies it.
    expect(crdPatches.filter((e) => /dryRun=All/.test(e.query))).toHaveLength(2);
    const crdApplies = crdPatches.filter((e) => !/dryRun=All/.test(e.query));
    expect(crdApplies.map((e) => new URLSearchParams(e.query).get('fieldManager'))).toEqual([
      'platform-install',
      'platform-install',
    ]);
    expect(crdApplies.every((e) => new URLSearchParams(e.query).get('force') === 'true')).toBe(true);
    expect(r.summary).toMatch(/operator version \| 1\.27\.1 \| 1\.28\.0/);
    expect(r.summary).toMatch(/clusters\.fixture\.cnpg-actions\.io \| changed/);
    expect(r.summary).toMatch(/server-side dry-run \(dryRun=All\) \| ✅ passed \| 3 object\(s\) accepted/);
    expect(
      pg.requestLog
        .entries()
        .some(
          (e) =>
            e.method === 'PATCH' &&
            /dryRun=All/.test(e.query) &&
            e.path.endsWith(`/deployments/${RELEASE}-cloudnative-pg`),
        ),
    ).toBe(true);
  });

  it('refuses to skip an operator minor version, before writing anything', async () => {
    const since = Date.now();
    const r = await t.install({ chart: chartVariant({ operatorVersion: '1.30.0', chartVersion: '1.3.0' }) });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('from 1.28.0 to 1.30.0, skipping 1.29');
    expect(r.summary).toContain('⛔ refused');
    expect(t.writesSince(since)).toEqual([]);
    expect((await history()).at(-1)).toMatchObject({ revision: 2, status: 'deployed' });
    expect(await deployImage()).toMatch(/:1\.28\.0$/);
  });

  it('catches an operator left on the old image although helm succeeded (a values file pins the tag)', async () => {
    // The chart moves to 1.29.0, but an environment values file still pins the 1.28.0 image.
    const values = writeValues('values-production.yaml', { 'cloudnative-pg': { image: { tag: '1.28.0' } } });
    const r = await t.install({
      chart: chartVariant({ operatorVersion: '1.29.0', chartVersion: '1.2.0' }),
      'values-files': values,
    });
    expect(r.exitCode).toBe(1);
    expect((await history()).at(-1)).toMatchObject({ revision: 3, status: 'deployed', app_version: '1.0.0' });
    expect(r.errors[0]).toContain(
      'runs 1.28.0 (image ghcr.io/cloudnative-pg/cloudnative-pg:1.28.0) but 1.29.0 is expected (appVersion of chart cloudnative-pg 0.26.0)',
    );
    expect(r.errors[0]).toContain('rendered image tag 1.28.0');
    expect(r.outputs).toMatchObject({ revision: '3', 'operator-version': '1.28.0' });
    expect(r.summary).toMatch(/rendered operator image tag \| ⚠️ warning/);
    expect(r.summary).toMatch(/operator running the expected version \| ❌ failed/);
  });

  it('catches an operator Deployment outside the chart that the install never touched', async () => {
    // An operator installed by hand long ago in its own namespace, still on 1.27: the chart's
    // operator is disabled here, the workflow names the real one and the version it must run.
    pg.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cnpg-legacy' } });
    const labels = { 'app.kubernetes.io/name': 'cloudnative-pg' };
    pg.store.create('apps/v1/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cnpg-controller-manager', namespace: 'cnpg-legacy', labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'manager', image: 'ghcr.io/cloudnative-pg/cloudnative-pg:1.27.0' }] },
        },
      },
    });
    await t.kubectl('-n', 'cnpg-legacy', 'rollout', 'status', 'deployment/cnpg-controller-manager', '--timeout=30s');
    const r = await t.install({
      chart: chartVariant({ operatorVersion: '1.28.0', chartVersion: '1.1.0' }),
      'operator-deployment': 'cnpg-controller-manager',
      'operator-namespace': 'cnpg-legacy',
      'expected-operator-version': '1.28.0',
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors[0]).toContain(
      'the operator cnpg-legacy/cnpg-controller-manager runs 1.27.0 (image ghcr.io/cloudnative-pg/cloudnative-pg:1.27.0) but 1.28.0 is expected (input expected-operator-version). The Deployment is not part of the chart, so the install did not change it.',
    );
    expect(r.summary).toMatch(/operator version \| 1\.27\.0 \| 1\.27\.0/);
    await t.kubectl('delete', 'namespace', 'cnpg-legacy');
  });

  it('rolls back an upgrade whose operator never becomes available and shows why', async () => {
    const last = (await history()).at(-1)!.revision;
    const r = await t.install({
      chart: chartVariant({ operatorVersion: '1.29.0', chartVersion: '1.2.0' }),
      set: 'cloudnative-pg.image.repository=registry.example.com/does-not-exist/cloudnative-pg',
      'helm-timeout': '15s',
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors[0]).toMatch(/helm upgrade failed/);
    expect(r.errors[0]).toContain('Helm rolled the release back');
    expect(r.errors[0]).toMatch(/ImagePullBackOff|ErrImagePull/);
    const h = await history();
    expect(h.at(-2)).toMatchObject({ revision: last + 1, status: 'failed' });
    expect(h.at(-1)).toMatchObject({ revision: last + 2, status: 'deployed', description: `Rollback to ${last}` });
    expect(await deployImage()).toBe('ghcr.io/cloudnative-pg/cloudnative-pg:1.28.0');
    expect(r.summary).toContain('### Diagnostics');
    expect(r.summary).toContain(`| ${last + 1} | failed |`);
    expect(r.summary).toMatch(/Warning \| Pod\/platform-cloudnative-pg-[a-z0-9-]+ \| Failed/);
    expect(r.summary).toContain('does-not-exist');
  });

  it('without helm --wait, still verifies the operator becomes available and reports why it does not', async () => {
    const r = await t.install({
      chart: chartVariant({ operatorVersion: '1.29.0', chartVersion: '1.2.0' }),
      set: 'cloudnative-pg.image.repository=registry.example.com/does-not-exist/cloudnative-pg',
      wait: 'false',
      atomic: 'false',
      'helm-timeout': '10s',
    });
    expect(r.exitCode).toBe(1);
    expect(r.summary).toMatch(/helm upgrade --install \| ✅ passed/);
    expect(r.errors[0]).toMatch(
      /the operator cnpg-system\/platform-cloudnative-pg is not available: 1 old replica\(s\) pending termination; pod platform-cloudnative-pg-[a-z0-9-]+ container manager: ImagePullBackOff/,
    );
    expect(r.outputs['operator-version']).toBe('1.29.0');
  });
});
