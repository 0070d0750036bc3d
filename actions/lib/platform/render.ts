// Renders the chart exactly as the upgrade will (same values, same --set, the cluster's API
// versions) and splits helm's output into objects, each with the template file it came from.
import { parseAllDocuments } from 'yaml';
import { InputError } from '../inputs.js';
import { HelmError, valueArgs, type Helm } from './helm.js';
import type { PlatformInputs } from './inputs.js';

export interface KubeObjectLike {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

export interface RenderedObject {
  object: KubeObjectLike;
  /** helm's `# Source:` path, e.g. platform/charts/cloudnative-pg/templates/podmonitor.yaml */
  source: string;
  /** True for files from a chart's crds/ directory (helm installs those once and never upgrades them). */
  fromCrdDir: boolean;
}

/** What `helm upgrade` will be given, as the inputs say it. */
export interface RenderRequest extends Pick<PlatformInputs, 'chart' | 'release' | 'namespace' | 'valuesFiles' | 'set'> {
  /** Cluster group/versions for .Capabilities.APIVersions (what `helm upgrade` would see). */
  apiVersions?: string[];
  kubeVersion?: string;
}

export async function dependencyUpdate(helm: Helm, chart: string): Promise<void> {
  // --skip-refresh would miss new chart versions; the repo index fetch is the point of this step.
  await helm.run(['dependency', 'update', chart]);
}

export async function renderChart(helm: Helm, req: RenderRequest): Promise<RenderedObject[]> {
  const args = [
    'template',
    req.release,
    req.chart,
    '--namespace',
    req.namespace,
    '--include-crds',
    ...valueArgs(req.valuesFiles, req.set),
  ];
  if (req.apiVersions?.length) args.push('--api-versions', req.apiVersions.join(','));
  if (req.kubeVersion) args.push('--kube-version', req.kubeVersion);
  const res = await helm.run(args, { allowFailure: true });
  if (res.exitCode !== 0) throw schemaError(req, res.stderr) ?? new HelmError(args, res);
  return parseManifest(res.stdout);
}

// helm validates the values against every chart's values.schema.json before rendering: a bad
// value is a bad input (one error naming it and the fix), not a helm failure.
function schemaError(req: RenderRequest, stderr: string): InputError | undefined {
  const i = stderr.indexOf("values don't meet the specifications of the schema");
  if (i < 0) return undefined;
  const detail = stderr
    .slice(i)
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  const input = req.set.length && !req.valuesFiles.length ? 'set' : 'values-files';
  const fix =
    req.set.length && req.valuesFiles.length ? 'fix the value in the values files or the set input' : 'fix the value';
  return new InputError(input, `the chart's values.schema.json rejects these values: ${detail}; ${fix}.`);
}

// A chart's (or subchart's) top-level crds/ folder; templates/crds/ (cloudnative-pg's
// templated CRDs) is a template directory like any other.
const CRD_DIR = /^[^/]+(\/charts\/[^/]+)*\/crds\//;

/** Splits `helm template` output into objects; List kinds are flattened, empty documents dropped. */
export function parseManifest(text: string): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim() ?? '(unknown template)';
    for (const doc of parseAllDocuments(chunk)) {
      if (doc.errors.length)
        throw new Error(`the chart rendered invalid YAML in ${source}: ${doc.errors[0].message.split('\n')[0]}`);
      const value = doc.toJS() as KubeObjectLike | null;
      if (!value || typeof value !== 'object') continue;
      const items =
        /List$/.test(value.kind ?? '') && Array.isArray(value.items) ? (value.items as KubeObjectLike[]) : [value];
      for (const object of items) {
        if (!object.apiVersion || !object.kind || !object.metadata?.name) {
          throw new Error(`the chart rendered an object without apiVersion, kind or metadata.name in ${source}`);
        }
        out.push({ object, source, fromCrdDir: CRD_DIR.test(source) });
      }
    }
  }
  return out;
}

export function groupVersionOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function describeObject(o: KubeObjectLike): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
