// Offline units of platform-install: inputs, the upgrade command line (checked against the real
// helm v4 --help), operator discovery in the rendered chart, and the minor-version rule.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ChartTree } from '../../actions/lib/platform/chart-files.js';
import { Helm } from '../../actions/lib/platform/helm.js';
import { readPlatformInputs } from '../../actions/lib/platform/inputs.js';
import { findOperator, imageTag, minorSkipProblem, sameVersion } from '../../actions/lib/platform/operator.js';
import { renderChart } from '../../actions/lib/platform/render.js';
import { upgradeArgs } from '../../actions/lib/platform/run.js';
import { recordingCore } from '../helpers/recording-core.js';
import { cleanupVariants, fixtureChart, helmBin, writeValues } from './fixture.js';

// The values files written below live in temp dirs.
afterAll(cleanupVariants);

const required = { chart: fixtureChart, release: 'platform', namespace: 'cnpg-system', 'helm-path': helmBin };
const read = (extra: Record<string, string> = {}) => {
  const { core, rec } = recordingCore({ ...required, ...extra });
  return { inputs: readPlatformInputs(core), rec };
};

describe('inputs', () => {
  it('defaults: 10m helm timeout, atomic, watcher wait, namespace created, dependency update on', () => {
    const { inputs } = read();
    expect(inputs).toMatchObject({
      helmTimeoutMs: 600_000,
      atomic: true,
      wait: 'watcher',
      createNamespace: true,
      skipDependencyUpdate: false,
      allowMinorSkip: false,
      valuesFiles: [],
      set: [],
    });
  });

  it('rejects each bad input naming it', () => {
    expect(() => read({ release: 'x'.repeat(54) })).toThrow(/^Input 'release': .* at most 53/);
    expect(() => read({ set: 'novalue' })).toThrow(/^Input 'set': 'novalue' is not key=value/);
    expect(() => read({ 'helm-timeout': '5s' })).toThrow(/^Input 'helm-timeout': must be at least 10s/);
    expect(() => read({ 'helm-timeout': 'soon' })).toThrow(/^Input 'helm-timeout': 'soon' is not a duration/);
    expect(() => read({ wait: 'maybe' })).toThrow(/^Input 'wait': 'maybe' is not one of/);
    expect(() => read({ chart: '/tmp' })).toThrow(/^Input 'chart': '\/tmp' is not a chart directory/);
    expect(() => read({ 'expected-operator-version': 'latest' })).toThrow(/^Input 'expected-operator-version'/);
    expect(() => read({ 'values-files': writeValues('list.yaml', '- a\n- b\n') })).toThrow(
      /^Input 'values-files': .* is not a YAML mapping of values \(it holds a list\)/,
    );
    expect(() => read({ 'helm-path': 'no-such-helm-binary' })).toThrow(
      /^Input 'helm-path': 'no-such-helm-binary' is not an executable helm binary on PATH/,
    );
  });

  it('masks --set values whose key looks secret', () => {
    const { inputs, rec } = read({ set: 'cloudnative-pg.image.tag=1.28.0\nbackup.s3.secretAccessKey=hunter2' });
    expect(inputs.set).toEqual(['cloudnative-pg.image.tag=1.28.0', 'backup.s3.secretAccessKey=hunter2']);
    expect(rec.secrets).toEqual(['hunter2']);
  });
});

describe('helm upgrade command line', () => {
  it('uses only flags helm v4 accepts, --rollback-on-failure rather than the deprecated --atomic', () => {
    const values = writeValues('values.yaml', { a: 1 });
    const args = upgradeArgs(read({ 'values-files': values, set: 'a=2', 'helm-timeout': '7m' }).inputs);
    expect(args).toEqual([
      'upgrade',
      'platform',
      fixtureChart,
      '--install',
      '--namespace',
      'cnpg-system',
      '--timeout',
      '420s',
      '--skip-crds',
      '--create-namespace',
      '--rollback-on-failure',
      '--wait=watcher',
      '--values',
      values,
      '--set',
      'a=2',
    ]);
    const help = execFileSync(helmBin, ['upgrade', '--help'], { encoding: 'utf8' });
    for (const flag of args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]))
      expect(help).toContain(`${flag} `);
    expect(help).not.toContain('--atomic');
    expect(upgradeArgs(read({ atomic: 'false', wait: 'false', 'create-namespace': 'false' }).inputs)).toEqual([
      'upgrade',
      'platform',
      fixtureChart,
      '--install',
      '--namespace',
      'cnpg-system',
      '--timeout',
      '600s',
      '--skip-crds',
    ]);
  });
});

describe('operator', () => {
  it('finds the operator Deployment in the rendered chart and expects its subchart appVersion', async () => {
    const { core } = recordingCore();
    const rendered = await renderChart(new Helm(core, helmBin), {
      chart: fixtureChart,
      release: 'platform',
      namespace: 'cnpg-system',
      valuesFiles: [],
      set: ['cloudnative-pg.image.tag=1.26.0'],
    });
    const tree = new ChartTree(fixtureChart);
    expect(findOperator(rendered, tree, { namespace: 'cnpg-system' })).toEqual({
      name: 'platform-cloudnative-pg',
      namespace: 'cnpg-system',
      expectedVersion: '1.27.1',
      expectedFrom: 'appVersion of chart cloudnative-pg 0.26.0',
      renderedTag: '1.26.0',
      managedByChart: true,
      source: 'platform/charts/cloudnative-pg/templates/deployment.yaml',
    });
    // An operator installed outside the chart: named by input, versions from the input.
    expect(
      findOperator(rendered, tree, {
        namespace: 'cnpg-system',
        operatorDeployment: 'cnpg-controller-manager',
        operatorNamespace: 'cnpg-system',
        expectedOperatorVersion: '1.28.1',
      }),
    ).toEqual({
      name: 'cnpg-controller-manager',
      namespace: 'cnpg-system',
      expectedVersion: '1.28.1',
      expectedFrom: 'input expected-operator-version',
      renderedTag: undefined,
      managedByChart: false,
      source: undefined,
    });
  });

  it('reads versions from image references', () => {
    expect(imageTag('ghcr.io/cloudnative-pg/cloudnative-pg:1.27.1')).toBe('1.27.1');
    expect(imageTag('registry:5000/cnpg/cloudnative-pg:1.27.1@sha256:abc')).toBe('1.27.1');
    expect(imageTag('registry:5000/cnpg/cloudnative-pg')).toBe('latest');
    expect(sameVersion('v1.27.1', '1.27.1-ubi9')).toBe(true);
    expect(sameVersion('1.27.1', '1.27.2')).toBe(false);
  });

  it('allows one minor at a time and names the skipped ones', () => {
    expect(minorSkipProblem('1.27.1', '1.27.3')).toBeUndefined();
    expect(minorSkipProblem('1.27.1', '1.28.0')).toBeUndefined();
    expect(minorSkipProblem('1.28.0', '1.27.1')).toBeUndefined();
    expect(minorSkipProblem('1.27.1', '1.29.0')).toMatch(
      /from 1\.27\.1 to 1\.29\.0, skipping 1\.28; .*Install 1\.28 first/,
    );
    expect(minorSkipProblem('1.27.1', '1.30.0')).toMatch(/skipping 1\.28, 1\.29/);
    expect(minorSkipProblem('1.29.0', '1.27.0')).toMatch(/skipping 1\.28/);
    expect(minorSkipProblem('1.27.1', '2.0.0')).toMatch(/major version change/);
  });
});
