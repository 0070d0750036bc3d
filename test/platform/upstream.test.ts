// platform-install on the upstream-shaped platform chart (test/fixtures/charts/upstream): the
// cloudnative-pg and plugin-barman-cloud charts packaged in charts/, CRDs as templates behind
// crds.create, webhook configurations, RBAC, values schemas. On a fresh cluster (no operator,
// cert-manager installed) with the real helm and kubectl through the bundled action: refusals
// before any write, install of chart 0.28 (operator 1.29), the operator bump to chart 0.29
// (operator 1.30) with its CRD change, and the CRDs on the server equal to the chart's.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUpstreamPlatform, upstreamDir, type BuiltChart } from '../fixtures/charts/upstream/build.js';
import type { S } from '../fixtures/charts/upstream/schema-dsl.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { keywordCounts, schemaDifferences } from './crd-compare.js';
import { installer, RELEASE, type Installer } from './e2e.js';
import { writeValues, cleanupVariants } from './fixture.js';

let pg: PlaygroundHandle;
let t: Installer;
const NS = 'cnpg-system';
const builds: BuiltChart[] = [];
const build = (...a: Parameters<typeof buildUpstreamPlatform>) => {
  const b = buildUpstreamPlatform(...a);
  builds.push(b);
  return b;
};

beforeAll(async () => {
  pg = await startPlayground({ operator: false });
  t = installer(pg);
  await t.kubectl('apply', '-f', join(upstreamDir, 'cert-manager-crds.yaml'));
  await t.kubectl(
    'wait',
    '--for=condition=Established',
    'crd/certificates.cert-manager.io',
    'crd/issuers.cert-manager.io',
    '--timeout=30s',
  );
}, 120_000);
afterAll(async () => {
  t?.dispose();
  for (const b of builds) b.dispose();
  cleanupVariants();
  await pg?.stop();
});

async function expectNothingWritten(since: number) {
  expect(t.writesSince(since)).toEqual([]);
  expect(await t.kubectl('get', 'secrets', '-A', '-l', 'owner=helm', '-o', 'name')).toBe('');
  expect(
    await t.kubectl(
      'get',
      'crd',
      'clusters.postgresql.cnpg.io',
      'objectstores.barmancloud.cnpg.io',
      '--ignore-not-found',
      '-o',
      'name',
    ),
  ).toBe('');
}

/** Every chart CRD on the server, keyword by keyword equal to the chart's. */
async function expectServerCrdsEqualChart(b: BuiltChart) {
  for (const [name, chartCrd] of b.crds) {
    const server = JSON.parse(await t.kubectl('get', 'crd', name, '-o', 'json'));
    const chartVersions = (chartCrd.spec as { versions: S[] }).versions;
    expect(server.spec.versions.length, name).toBe(chartVersions.length);
    chartVersions.forEach((v, i) => {
      expect(
        schemaDifferences(server.spec.versions[i].schema.openAPIV3Schema, (v.schema as S).openAPIV3Schema),
        name,
      ).toEqual([]);
      expect(server.spec.versions[i].subresources, name).toEqual(v.subresources);
    });
    expect(server.metadata.labels['app.kubernetes.io/managed-by'], name).toBe('Helm');
    expect(server.metadata.annotations, name).toMatchObject({
      'meta.helm.sh/release-name': RELEASE,
      'meta.helm.sh/release-namespace': NS,
      'helm.sh/resource-policy': 'keep',
    });
    expect(server.status.conditions.find((c: { type: string }) => c.type === 'Established').status, name).toBe('True');
  }
}

const clusterSpecSchema = async () =>
  JSON.parse(await t.kubectl('get', 'crd', 'clusters.postgresql.cnpg.io', '-o', 'json')).spec.versions[0].schema
    .openAPIV3Schema.properties.spec;
const deployImage = (name: string) =>
  t.kubectl('-n', NS, 'get', 'deploy', name, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');

describe('platform-install refuses before writing, on the upstream-shaped chart', () => {
  it('a PodMonitor without monitoring.coreos.com, naming the template in the packaged subchart and its value', async () => {
    const b = build({ operator: '1.29' });
    const since = Date.now();
    const r = await t.install({ chart: b.chart, set: 'cloudnative-pg.monitoring.podMonitorEnabled=true' });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      'PodMonitor cnpg-system/platform-cloudnative-pg (platform/charts/cloudnative-pg/templates/podmonitor.yaml) needs monitoring.coreos.com/v1',
    );
    expect(r.errors[0]).toContain('turn it off with cloudnative-pg.monitoring.podMonitorEnabled=false');
    await expectNothingWritten(since);
  });

  it('a five-field ScheduledBackup cron', async () => {
    const b = build({ operator: '1.29' });
    const since = Date.now();
    const values = writeValues('values-backup.yaml', {
      backup: { scheduledBackup: { enabled: true, schedule: '0 3 * * *' } },
    });
    const r = await t.install({ chart: b.chart, 'values-files': values });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      "ScheduledBackup pg-daily (platform/templates/scheduledbackup.yaml): schedule '0 3 * * *' has five fields",
    );
    expect(r.errors[0]).toContain("'0 0 3 * * *'");
    await expectNothingWritten(since);
  });

  it("a value the packaged subchart's values.schema.json rejects: one input error naming the value and the fix", async () => {
    const b = build({ operator: '1.29' });
    const since = Date.now();
    const r = await t.install({ chart: b.chart, set: 'cloudnative-pg.webhook.validating.failurePolicy=Never' });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toEqual([
      "Input 'set': the chart's values.schema.json rejects these values: cloudnative-pg: - at '/webhook/validating/failurePolicy': value must be one of 'Fail', 'Ignore'; fix the value.",
    ]);
    await expectNothingWritten(since);
  });

  it('a CRD the API server would reject as non-structural, naming the CRD, the file, the schema path and the fix', async () => {
    const b = build({
      operator: '1.29',
      editCrds: (crds) => {
        const cluster = crds.find((c) => (c.metadata as { name: string }).name === 'clusters.postgresql.cnpg.io')!;
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        delete (cluster.spec as any).versions[0].schema.openAPIV3Schema.properties.spec.properties.storage.properties
          .size.type;
      },
    });
    const since = Date.now();
    const r = await t.install({ chart: b.chart });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    const path = 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[storage].properties[size].type';
    expect(r.errors[0]).toContain(
      `the API server rejects CustomResourceDefinition clusters.postgresql.cnpg.io (platform/charts/cloudnative-pg/templates/crds/crds.yaml) in a dry-run: HTTP 422: CustomResourceDefinition.apiextensions.k8s.io "clusters.postgresql.cnpg.io" is invalid: ${path}: Required value: must not be empty for specified object fields`,
    );
    expect(r.errors[0]).toContain(
      `fix the schema at ${path} in platform/charts/cloudnative-pg/templates/crds/crds.yaml`,
    );
    expect(r.summary).toContain('⛔ refused');
    await expectNothingWritten(since);
  });
});

describe('platform-install refuses CRDs Helm could not adopt', () => {
  it('a Cluster CRD installed earlier by hand (kubectl apply): names the CRD, its template and both fixes', async () => {
    const b = build({ operator: '1.29' });
    const manual = join(b.chart, '..', 'clusters-crd.json');
    writeFileSync(manual, JSON.stringify(b.crds.get('clusters.postgresql.cnpg.io')));
    await t.kubectl('apply', '--server-side', '--field-manager=kubectl', '-f', manual);
    const since = Date.now();
    const r = await t.install({ chart: b.chart });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      'CustomResourceDefinition clusters.postgresql.cnpg.io (platform/charts/cloudnative-pg/templates/crds/crds.yaml) already exists on the cluster without this release\'s ownership metadata (label app.kubernetes.io/managed-by is missing, not "Helm"; annotation meta.helm.sh/release-name is missing, not "platform"; annotation meta.helm.sh/release-namespace is missing, not "cnpg-system"): Helm would refuse the upgrade ("invalid ownership metadata").',
    );
    expect(r.errors[0]).toContain(
      'kubectl label crd clusters.postgresql.cnpg.io app.kubernetes.io/managed-by=Helm --overwrite && kubectl annotate crd clusters.postgresql.cnpg.io meta.helm.sh/release-name=platform meta.helm.sh/release-namespace=cnpg-system --overwrite',
    );
    expect(r.errors[0]).toContain('or keep it outside the release with cloudnative-pg.crds.create=false');
    expect(r.summary).toMatch(/templated CRDs on the cluster owned by this release \| ❌ failed \| 0 of 1/);
    expect(t.writesSince(since)).toEqual([]);
    await t.kubectl('delete', 'crd', 'clusters.postgresql.cnpg.io', '--wait=true');
  });
});

describe('platform-install installs and upgrades the upstream-shaped chart', () => {
  let v129: BuiltChart;
  let installStart = 0;
  it('installs chart 0.28.3 fresh: templated CRDs left to Helm (ObjectStore CRD created first for adoption), operator 1.29.1 verified', async () => {
    v129 = build({ operator: '1.29' });
    installStart = Date.now();
    const r = await t.install({ chart: v129.chart });
    expect(r.errors).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({
      revision: '1',
      'chart-version': '2.0.0',
      'operator-version': '1.29.1',
      'crds-applied': 'objectstores.barmancloud.cnpg.io',
    });
    expect(await deployImage('platform-cloudnative-pg')).toBe('ghcr.io/cloudnative-pg/cloudnative-pg:1.29.1');
    await expectServerCrdsEqualChart(v129);
    const counts = keywordCounts(await clusterSpecSchema());
    expect(counts.enum).toBeGreaterThanOrEqual(14);
    expect(counts.default).toBeGreaterThanOrEqual(40);
    expect(counts['x-kubernetes-validations']).toBeGreaterThanOrEqual(7);
    expect(counts['x-kubernetes-int-or-string']).toBeGreaterThanOrEqual(10);
    // What every real cluster accepts from this chart is on the server.
    expect(await t.kubectl('get', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', '-o', 'name')).toBe(
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/cnpg-mutating-webhook-configuration\nvalidatingwebhookconfiguration.admissionregistration.k8s.io/cnpg-validating-webhook-configuration\n',
    );
    expect(
      await t.kubectl('get', 'clusterrole', 'platform-cloudnative-pg', 'platform-plugin-barman-cloud', '-o', 'name'),
    ).toContain('clusterrole.rbac.authorization.k8s.io/platform-cloudnative-pg');
    expect(
      await t.kubectl(
        'get',
        'objectstore',
        'platform-backups',
        '-n',
        NS,
        '-o',
        'jsonpath={.spec.configuration.wal.compression}',
      ),
    ).toBe('gzip');
    expect(r.summary).toMatch(
      /objectstores\.barmancloud\.cnpg\.io \| created \| v1 \| .* \| platform-install, adopted by helm/,
    );
    expect(r.summary).toMatch(/clusters\.postgresql\.cnpg\.io \| created \| v1 \| .* \| helm/);
    expect(r.summary).toMatch(/API groups served or defined by the chart \| ✅ passed/);
  });

  it('refuses an operator minor skip (1.29 -> 1.31) before writing', async () => {
    const b = build({ operator: '1.30', appVersion: '1.31.0', platformVersion: '2.2.0' });
    const since = Date.now();
    const r = await t.install({ chart: b.chart });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      'Deployment cnpg-system/platform-cloudnative-pg (platform/charts/cloudnative-pg/templates/deployment.yaml, version from the appVersion of chart cloudnative-pg 0.29.0): the operator would move from 1.29.1 to 1.31.0, skipping 1.30',
    );
    expect(r.errors[0]).toContain('Install 1.30 first');
    expect(t.writesSince(since)).toEqual([]);
    expect(await deployImage('platform-cloudnative-pg')).toBe('ghcr.io/cloudnative-pg/cloudnative-pg:1.29.1');
  });

  it('bumps to chart 0.29.0 (operator 1.30.0): the CRD change reaches the server, the operator runs 1.30.0', async () => {
    const v130 = build({ operator: '1.30', platformVersion: '2.1.0' });
    expect((await clusterSpecSchema()).properties.primaryLease).toBeUndefined();
    const r = await t.install({ chart: v130.chart });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ revision: '2', 'chart-version': '2.1.0', 'operator-version': '1.30.0' });
    expect(await deployImage('platform-cloudnative-pg')).toBe('ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0');
    const spec = await clusterSpecSchema();
    expect(spec.properties.primaryLease.properties.leaseDurationSeconds).toMatchObject({
      default: 15,
      minimum: 1,
      type: 'integer',
    });
    expect(spec.properties.primaryLease['x-kubernetes-validations']).toHaveLength(1);
    expect(spec.properties.backup.properties.barmanObjectStore.properties.data.properties.compression.enum).toEqual([
      'bzip2',
      'gzip',
      'lz4',
      'snappy',
    ]);
    await expectServerCrdsEqualChart(v130);
    // Helm upgraded its templated CRD itself (server-side apply, its own field manager); this action only dry-ran it.
    const writes = pg.requestLog
      .entries()
      .filter(
        (e) =>
          e.time >= installStart &&
          e.method === 'PATCH' &&
          e.path.endsWith('/customresourcedefinitions/clusters.postgresql.cnpg.io') &&
          !/dryRun=All/.test(e.query),
      );
    expect(writes.map((e) => new URLSearchParams(e.query).get('fieldManager'))).toEqual(['helm', 'helm']);
    expect(r.summary).toMatch(/clusters\.postgresql\.cnpg\.io \| changed \| v1 \| .* \| helm/);
    expect(r.summary).toMatch(/operator version \| 1\.29\.1 \| 1\.30\.0/);
  });

  it('runs again with nothing to change: CRDs unchanged and still equal to the chart', async () => {
    const v130 = build({ operator: '1.30', platformVersion: '2.1.0' });
    const r = await t.install({ chart: v130.chart });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ revision: '3', 'operator-version': '1.30.0' });
    expect(r.summary).toMatch(/clusters\.postgresql\.cnpg\.io \| unchanged/);
    expect(r.summary).toMatch(/server-side dry-run \(dryRun=All\) \| ✅ passed/);
    await expectServerCrdsEqualChart(v130);
  });
});
