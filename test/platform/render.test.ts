// Rendering and the offline checks against the real helm binary (no cluster): how objects map to
// templates, which value gates a template, CNPG schedules, and CRDs from vendored and packaged subcharts.
import { afterAll, describe, expect, it } from 'vitest';
import { ChartTree, readTgz } from '../../actions/lib/platform/chart-files.js';
import { chartCrdKinds, checkCrdGroups } from '../../actions/lib/platform/checks/crd-groups.js';
import { findValueGate } from '../../actions/lib/platform/checks/value-gate.js';
import { checkSchedules } from '../../actions/lib/platform/checks/schedules.js';
import type { Discovery } from '../../actions/lib/platform/discovery.js';
import { Helm } from '../../actions/lib/platform/helm.js';
import { dependencyUpdate, renderChart } from '../../actions/lib/platform/render.js';
import { chartCrds } from '../../actions/lib/platform/crds.js';
import { recordingCore } from '../helpers/recording-core.js';
import { chartVariant, cleanupVariants, fixtureChart, helmBin } from './fixture.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { core } = recordingCore();
const helm = new Helm(core, helmBin);
const base = { release: 'platform', namespace: 'cnpg-system', valuesFiles: [] as string[] };

// A cluster that serves only built-in groups (what discovery of a bare cluster returns).
const bareCluster: Discovery = {
  groupVersions: ['v1', 'apps/v1', 'apiextensions.k8s.io/v1'],
  kinds: async (gv) =>
    (
      ({
        v1: ['ConfigMap', 'Secret'],
        'apps/v1': ['Deployment'],
        'apiextensions.k8s.io/v1': ['CustomResourceDefinition'],
      }) as Record<string, string[]>
    )[gv]?.map((kind) => ({
      kind,
      plural: kind.toLowerCase() + 's',
      namespaced: true,
    })),
  kind: async (av, kind) => (await bareCluster.kinds(av))?.find((k) => k.kind === kind),
};

afterAll(cleanupVariants);

describe('render', () => {
  it('splits helm template output into objects with their template and CRD origin', async () => {
    const objs = await renderChart(helm, { ...base, chart: fixtureChart, set: [] });
    const summary = objs.map((o) => `${o.object.kind}:${o.object.metadata.name}:${o.source}:${o.fromCrdDir}`);
    expect(summary).toEqual([
      'CustomResourceDefinition:clusters.fixture.cnpg-actions.io:platform/charts/cloudnative-pg/crds/clusters.fixture.cnpg-actions.io.yaml:true',
      'ConfigMap:platform-settings:platform/templates/settings.yaml:false',
      'Deployment:platform-cloudnative-pg:platform/charts/cloudnative-pg/templates/deployment.yaml:false',
    ]);
  });

  it('finds the value gating a PodMonitor in the operator subchart and fails the group check with it', async () => {
    const set = ['cloudnative-pg.monitoring.podMonitor.enabled=true'];
    const objs = await renderChart(helm, { ...base, chart: fixtureChart, set });
    const missing = await checkCrdGroups(objs, bareCluster, new ChartTree(fixtureChart));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({
      object: 'PodMonitor platform-cloudnative-pg',
      group: 'monitoring.coreos.com',
      template: 'platform/charts/cloudnative-pg/templates/podmonitor.yaml',
      value: 'cloudnative-pg.monitoring.podMonitor.enabled',
    });
    expect(missing[0].message).toContain('cloudnative-pg.monitoring.podMonitor.enabled=false');
    expect(missing[0].message).toContain('does not serve API group monitoring.coreos.com');
    // The fixture's own CRD kind is satisfied by the chart even though the bare cluster lacks it.
    expect(chartCrdKinds(objs).has('fixture.cnpg-actions.io/v1', 'Cluster')).toBe(true);
  });

  it('reads templates and appVersion from a packaged subchart (charts/*.tgz)', async () => {
    const chart = chartVariant({ operatorVersion: '1.28.0', packageSubchart: true });
    expect(readdirSync(join(chart, 'charts'))).toEqual(['cloudnative-pg-0.26.0.tgz']);
    expect([...readTgz(join(chart, 'charts/cloudnative-pg-0.26.0.tgz')).keys()]).toContain(
      'cloudnative-pg/templates/podmonitor.yaml',
    );
    const objs = await renderChart(helm, {
      ...base,
      chart,
      set: ['cloudnative-pg.monitoring.podMonitor.enabled=true'],
    });
    expect(objs.filter((o) => o.fromCrdDir).map((o) => o.object.metadata.name)).toEqual([
      'clusters.fixture.cnpg-actions.io',
    ]);
    const tree = new ChartTree(chart);
    const deployment = objs.find((o) => o.object.kind === 'Deployment')!;
    expect(tree.meta(deployment.source)?.appVersion).toBe('1.28.0');
    const podMonitor = objs.find((o) => o.object.kind === 'PodMonitor')!;
    expect(findValueGate(tree, podMonitor.source, 'PodMonitor').value).toBe(
      'cloudnative-pg.monitoring.podMonitor.enabled',
    );
  });

  it('helm dependency update fetches a declared subchart whose CRDs, templates and appVersion are then found in the archive', async () => {
    const chart = chartVariant({ operatorVersion: '1.28.2', subchartAsDependency: true });
    await expect(renderChart(helm, { ...base, chart, set: [] })).rejects.toThrow(
      /missing in charts\/ directory: cloudnative-pg/,
    );
    await dependencyUpdate(helm, chart);
    expect(readdirSync(join(chart, 'charts'))).toEqual(['cloudnative-pg-0.26.0.tgz']);
    const objs = await renderChart(helm, {
      ...base,
      chart,
      set: ['cloudnative-pg.monitoring.podMonitor.enabled=true'],
    });
    expect(chartCrds(objs).map((o) => o.source)).toEqual([
      'platform/charts/cloudnative-pg/crds/clusters.fixture.cnpg-actions.io.yaml',
    ]);
    const tree = new ChartTree(chart);
    expect(tree.meta(objs.find((o) => o.object.kind === 'Deployment')!.source)?.appVersion).toBe('1.28.2');
    expect(findValueGate(tree, objs.find((o) => o.object.kind === 'PodMonitor')!.source, 'PodMonitor').value).toBe(
      'cloudnative-pg.monitoring.podMonitor.enabled',
    );
  });

  it('helm dependency update fetches from an http(s) chart repository that was never `helm repo add`ed (a fresh runner)', async () => {
    const chart = chartVariant({ operatorVersion: '1.28.3', subchartAsDependency: true });
    const repo = mkdtempSync(join(tmpdir(), 'chart-repo-'));
    const helmHome = mkdtempSync(join(tmpdir(), 'helm-home-'));
    const server = createServer((req, res) => {
      const file = join(repo, (req.url ?? '/').split('?')[0]);
      if (!existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const saved = { ...process.env };
    Object.assign(process.env, {
      HELM_REPOSITORY_CONFIG: join(helmHome, 'repositories.yaml'),
      HELM_REPOSITORY_CACHE: join(helmHome, 'cache'),
      HELM_CACHE_HOME: join(helmHome, 'c'),
    });
    try {
      execFileSync(helmBin, ['package', join(chart, '../cloudnative-pg'), '--destination', repo]);
      execFileSync(helmBin, ['repo', 'index', repo, '--url', url]);
      const chartYaml = join(chart, 'Chart.yaml');
      writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replace('file://../cloudnative-pg', url));
      await dependencyUpdate(helm, chart);
      expect(readdirSync(join(chart, 'charts'))).toEqual(['cloudnative-pg-0.26.0.tgz']);
      const objs = await renderChart(helm, { ...base, chart, set: [] });
      expect(new ChartTree(chart).meta(objs.find((o) => o.object.kind === 'Deployment')!.source)?.appVersion).toBe(
        '1.28.3',
      );
    } finally {
      process.env = saved;
      server.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(helmHome, { recursive: true, force: true });
    }
  });

  it('lints every CNPG ScheduledBackup schedule and explains a five-field one runs hourly', async () => {
    const good = await renderChart(helm, {
      ...base,
      chart: fixtureChart,
      set: ['backup.scheduledBackup.enabled=true'],
    });
    expect(checkSchedules(good)).toEqual({ checked: 1, problems: [] });
    const bad = await renderChart(helm, {
      ...base,
      chart: fixtureChart,
      set: ['backup.scheduledBackup.enabled=true', 'backup.scheduledBackup.schedule=0 3 * * *'],
    });
    const { checked, problems } = checkSchedules(bad);
    expect(checked).toBe(1);
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toContain('ScheduledBackup pg-daily');
    expect(problems[0].message).toMatch(/five fields.*every hour/);
    expect(problems[0].template).toBe('platform/templates/scheduledbackup.yaml');
  });

  it('falls back to a boolean value named after the kind when the template tests no value', () => {
    const chart = chartVariant();
    const tree = new ChartTree(chart);
    // An ungated template: only the values naming convention can point at the switch.
    const gate = findValueGate(tree, 'platform/charts/cloudnative-pg/templates/deployment.yaml', 'PodMonitor');
    expect(gate.value).toBe('cloudnative-pg.monitoring.podMonitor.enabled');
    expect(gate.evidence).toMatch(/named after the kind/);
    expect(findValueGate(tree, 'platform/templates/settings.yaml', 'ConfigMap')).toEqual({
      template: 'platform/templates/settings.yaml',
    });
  });
});
