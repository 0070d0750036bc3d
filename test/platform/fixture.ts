// Copies of the fixture platform chart for tests: a temp dir per variant (operator version,
// an extra CRD field, a values file), so the committed fixture stays the baseline.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse, stringify } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const fixtureChart = join(repoRoot, 'test/fixtures/charts/platform');
export const helmBin = join(repoRoot, '.tools/bin/helm');
export const kubectlBin = join(repoRoot, '.tools/bin/kubectl');

export interface Variant {
  /** Operator version: the subchart's appVersion (and so the Deployment's image tag). */
  operatorVersion?: string;
  /** Platform chart version. */
  chartVersion?: string;
  /** Extra string properties added to the fixture CRD's spec schema. */
  crdFields?: string[];
  /** Package the operator subchart as charts/<name>-<version>.tgz instead of a directory. */
  packageSubchart?: boolean;
  /** Move the operator subchart out of charts/ and declare it as a file:// dependency (helm dependency update fetches it). */
  subchartAsDependency?: boolean;
}

const dirs: string[] = [];

export function chartVariant(v: Variant = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'platform-chart-'));
  dirs.push(dir);
  const chart = join(dir, 'platform');
  cpSync(fixtureChart, chart, { recursive: true });
  const sub = join(chart, 'charts/cloudnative-pg');
  editYaml(join(sub, 'Chart.yaml'), (c) => {
    if (v.operatorVersion) c.appVersion = v.operatorVersion;
  });
  editYaml(join(chart, 'Chart.yaml'), (c) => {
    if (v.chartVersion) c.version = v.chartVersion;
  });
  if (v.crdFields?.length) {
    editYaml(join(sub, 'crds/clusters.fixture.cnpg-actions.io.yaml'), (crd) => {
      const props = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
      for (const f of v.crdFields!) props[f] = { type: 'string' };
    });
  }
  if (v.subchartAsDependency) {
    cpSync(sub, join(dir, 'cloudnative-pg'), { recursive: true });
    rmSync(join(chart, 'charts'), { recursive: true });
    editYaml(join(chart, 'Chart.yaml'), (c) => {
      c.dependencies = [{ name: 'cloudnative-pg', version: '0.26.0', repository: 'file://../cloudnative-pg' }];
    });
  }
  if (v.packageSubchart) {
    execFileSync(helmBin, ['package', sub, '--destination', join(chart, 'charts')], { stdio: 'pipe' });
    rmSync(sub, { recursive: true });
  }
  return chart;
}

export function writeValues(name: string, values: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'platform-values-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, typeof values === 'string' ? values : stringify(values));
  return path;
}

export function cleanupVariants(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function editYaml(path: string, fn: (doc: any) => void): void {
  const doc = parse(readFileSync(path, 'utf8'));
  fn(doc);
  writeFileSync(path, stringify(doc));
}
