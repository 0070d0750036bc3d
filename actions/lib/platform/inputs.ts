// platform-install inputs, all validated before anything runs: paths exist, values files parse,
// `set` entries are key=value, and the helm timeout fits the step (see action.yml).
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Core } from '../core.js';
import { InputError, Inputs } from '../inputs.js';

export type WaitStrategy = 'watcher' | 'legacy' | false;

export interface PlatformInputs {
  chart: string;
  release: string;
  namespace: string;
  valuesFiles: string[];
  set: string[];
  helmTimeoutMs: number;
  helmPath: string;
  kubeconfig?: string;
  skipDependencyUpdate: boolean;
  operatorDeployment?: string;
  operatorNamespace?: string;
  expectedOperatorVersion?: string;
  allowMinorSkip: boolean;
  createNamespace: boolean;
  atomic: boolean;
  wait: WaitStrategy;
}

// Keys whose values are masked before anything is logged (helm echoes nothing, but we do).
const SECRET_KEY = /pass(word)?|secret|token|credential|api[-_]?key|private[-_]?key/i;

export function readPlatformInputs(core: Pick<Core, 'getInput' | 'setSecret'>): PlatformInputs {
  const inputs = new Inputs(core);
  const chart = chartPath(
    inputs.required('chart', 'pass the path of the platform chart directory, e.g. infra/helm/platform'),
  );
  const release = helmReleaseName(inputs.required('release', 'name the Helm release, e.g. platform'));
  const namespace = inputs.kubeName('namespace', inputs.required('namespace', 'name the release namespace'));
  const valuesFiles = inputs.list('values-files').map((f) => valuesFile(f));
  const set = inputs.list('set').map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0)
      throw new InputError(
        'set',
        `'${entry}' is not key=value; write one key=value per line, e.g. cloudnative-pg.monitoring.podMonitor.enabled=false.`,
      );
    if (SECRET_KEY.test(entry.slice(0, eq))) core.setSecret(entry.slice(eq + 1));
    return entry;
  });
  const helmTimeoutMs = inputs.duration('helm-timeout', '10m');
  if (helmTimeoutMs < 10_000)
    throw new InputError(
      'helm-timeout',
      'must be at least 10s; an upgrade that cannot wait for its pods is rolled back at once.',
    );
  const operatorDeployment = inputs.optional('operator-deployment');
  if (operatorDeployment) inputs.kubeName('operator-deployment', operatorDeployment);
  const operatorNamespace = inputs.optional('operator-namespace');
  if (operatorNamespace) inputs.kubeName('operator-namespace', operatorNamespace);
  const expectedOperatorVersion = inputs.optional('expected-operator-version')?.replace(/^v/, '');
  if (expectedOperatorVersion && !/^\d+\.\d+(\.\d+)?([-+].*)?$/.test(expectedOperatorVersion)) {
    throw new InputError('expected-operator-version', `'${expectedOperatorVersion}' is not a version such as 1.27.1.`);
  }
  return {
    chart,
    release,
    namespace,
    valuesFiles,
    set,
    helmTimeoutMs,
    helmPath: helmBinary(inputs.string('helm-path', 'helm')),
    kubeconfig: inputs.optional('kubeconfig'),
    skipDependencyUpdate: inputs.boolean('skip-dependency-update', false),
    operatorDeployment,
    operatorNamespace,
    expectedOperatorVersion,
    allowMinorSkip: inputs.boolean('allow-minor-skip', false),
    createNamespace: inputs.boolean('create-namespace', true),
    atomic: inputs.boolean('atomic', true),
    wait: waitStrategy(inputs.raw('wait')),
  };
}

function workspacePath(p: string): string {
  return isAbsolute(p) ? p : resolve(process.env.GITHUB_WORKSPACE || process.cwd(), p);
}

function chartPath(input: string): string {
  const p = workspacePath(input);
  if (!existsSync(p))
    throw new InputError(
      'chart',
      `'${input}' does not exist (resolved to ${p}); check out the repository first and pass the chart directory.`,
    );
  if (!statSync(p).isDirectory() || !existsSync(join(p, 'Chart.yaml'))) {
    throw new InputError(
      'chart',
      `'${input}' is not a chart directory (no Chart.yaml in ${p}); pass the directory that holds Chart.yaml.`,
    );
  }
  return p;
}

// Helm stores the release in a Secret named sh.helm.release.v1.<name>.v<N>: 53 characters at most.
function helmReleaseName(v: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) || v.length > 53) {
    throw new InputError(
      'release',
      `'${v}' is not a valid Helm release name (lower-case letters, digits and '-', at most 53).`,
    );
  }
  return v;
}

function valuesFile(input: string): string {
  const p = workspacePath(input);
  if (!existsSync(p))
    throw new InputError(
      'values-files',
      `'${input}' does not exist (resolved to ${p}); fix the path or remove it from values-files.`,
    );
  const docs = parseAllDocuments(readFileSync(p, 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length) {
      throw new InputError(
        'values-files',
        `'${input}' is not valid YAML: ${doc.errors[0].message.split('\n')[0]}; fix the file.`,
      );
    }
    const v = doc.toJS() as unknown;
    if (v !== null && v !== undefined && (typeof v !== 'object' || Array.isArray(v))) {
      throw new InputError(
        'values-files',
        `'${input}' is not a YAML mapping of values (it holds ` +
          `a ${Array.isArray(v) ? 'list' : typeof v}); Helm values files are key: value maps.`,
      );
    }
  }
  return p;
}

function helmBinary(input: string): string {
  const candidates = input.includes('/')
    ? [workspacePath(input)]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, input));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // next candidate
    }
  }
  throw new InputError(
    'helm-path',
    `'${input}' is not an executable helm binary${input.includes('/') ? '' : ' on PATH'}; ` +
      `install Helm v3.13+/v4 in an earlier step (e.g. azure/setup-helm) or pass its path.`,
  );
}

function waitStrategy(v: string): WaitStrategy {
  const s = v.toLowerCase();
  if (!s || ['true', 'yes', 'watcher'].includes(s)) return 'watcher';
  if (s === 'legacy') return 'legacy';
  if (['false', 'no'].includes(s)) return false;
  throw new InputError('wait', `'${v}' is not one of: true, false, watcher, legacy.`);
}
