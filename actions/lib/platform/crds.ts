// CRDs as Helm and the upstream charts intend (CONFORMANCE.md section 10):
// - a chart's crds/ folder: Helm creates those once and never upgrades them, so every run
//   server-side applies them all (chart and subcharts, vendored or packaged);
// - templated CRDs (cloudnative-pg's templates/crds/crds.yaml behind crds.create): Helm owns
//   and upgrades them. Only when objects of the same release need one that is not served yet
//   is it created first, carrying Helm's ownership metadata so Helm adopts it; afterwards every
//   templated CRD must be Established.
// Every CRD travels as raw JSON through the custom-objects API: client-node's typed
// V1CustomResourceDefinition serialization drops enum, default, x-kubernetes-* and $ref.
import { basename } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, sleep, withRetry } from '../kube/retry.js';
import type { KubeObjectLike, RenderedObject } from './render.js';

export interface AppliedCrd {
  name: string;
  /** served versions after the apply */
  versions: string[];
  /** created: new; changed: its spec was different; unchanged */
  change: 'created' | 'changed' | 'unchanged';
  /** Who wrote it: this action (crds/ folders), Helm (templated), or this action first and Helm after (templated, needed first). */
  by: 'platform-install' | 'helm' | 'platform-install, adopted by helm';
  establishedMs: number;
}

interface RawCrd {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { versions?: { name: string; served?: boolean }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** The field manager of everything this action writes or dry-runs. */
export const FIELD_MANAGER = 'platform-install';

const CRD_API = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
const isCrd = (r: RenderedObject) => r.object.kind === 'CustomResourceDefinition';

/** CRDs of chart crds/ folders (this action applies them every run). */
export function chartCrds(rendered: RenderedObject[]): RenderedObject[] {
  return rendered.filter((r) => r.fromCrdDir && isCrd(r));
}

/** CRDs rendered from templates (Helm installs and upgrades them with the release). */
export function templatedCrds(rendered: RenderedObject[]): RenderedObject[] {
  return rendered.filter((r) => !r.fromCrdDir && isCrd(r));
}

/** Server-side apply of the object exactly as rendered (dryRun: the server validates, nothing is written). */
export function applyRawCrd(
  clients: KubeClients,
  object: KubeObjectLike,
  opts: { fieldManager: string; dryRun?: boolean },
): Promise<RawCrd> {
  const req = {
    ...CRD_API,
    name: object.metadata.name,
    body: object,
    fieldManager: opts.fieldManager,
    force: true,
    dryRun: opts.dryRun ? 'All' : undefined,
  };
  return clients.custom.patchClusterCustomObject(
    req,
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  ) as Promise<RawCrd>;
}

export function readRawCrd(clients: KubeClients, name: string): Promise<RawCrd | undefined> {
  return withRetry(`read CRD ${name}`, () =>
    ignoreNotFound(() => clients.custom.getClusterCustomObject({ ...CRD_API, name }) as Promise<RawCrd>),
  );
}

export async function applyCrds(
  core: Pick<Core, 'info'>,
  clients: KubeClients,
  crds: RenderedObject[],
  opts: { timeoutMs?: number; fieldManager?: string } = {},
): Promise<AppliedCrd[]> {
  const applied: AppliedCrd[] = [];
  for (const { object } of crds) {
    const name = object.metadata.name;
    const before = await readRawCrd(clients, name);
    const after = await withRetry(`apply CRD ${name}`, () =>
      applyRawCrd(clients, object, { fieldManager: opts.fieldManager ?? FIELD_MANAGER }),
    );
    const started = Date.now();
    await waitEstablished(clients, name, opts.timeoutMs ?? 120_000);
    const entry = describeChange(name, before, after, 'platform-install', Date.now() - started);
    core.info(`CRD ${name}: ${entry.change}, Established (versions ${entry.versions.join(', ')})`);
    applied.push(entry);
  }
  return applied;
}

/**
 * Templated CRDs that other objects of the release need and the cluster does not serve yet:
 * Helm cannot map those objects before the CRD exists, so the CRD is created first with Helm's
 * ownership metadata (adopted on install) and Helm's own field manager (its later upgrades
 * then own every field instead of conflicting with this action's).
 */
export async function crdsNeededFirst(
  rendered: RenderedObject[],
  served: (apiVersion: string, kind: string) => Promise<unknown>,
): Promise<RenderedObject[]> {
  const out: RenderedObject[] = [];
  for (const r of templatedCrds(rendered)) {
    const spec = r.object.spec as { group: string; names: { kind: string }; versions: { name: string }[] };
    const apiVersions = spec.versions.map((v) => `${spec.group}/${v.name}`);
    const used = rendered.some(
      (o) => !isCrd(o) && o.object.kind === spec.names.kind && apiVersions.includes(o.object.apiVersion),
    );
    if (used && !(await Promise.all(apiVersions.map((av) => served(av, spec.names.kind)))).some(Boolean)) out.push(r);
  }
  return out;
}

export function withHelmOwnership(r: RenderedObject, release: string, namespace: string): RenderedObject {
  const object = structuredClone(r.object);
  const meta = object.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
  meta.labels = { ...meta.labels, 'app.kubernetes.io/managed-by': 'Helm' };
  meta.annotations = {
    ...meta.annotations,
    'meta.helm.sh/release-name': release,
    'meta.helm.sh/release-namespace': namespace,
  };
  return { ...r, object };
}

/** Before the upgrade: the crds/ folders' CRDs, then the templated ones the release needs first. */
export async function applyCrdsBeforeHelm(
  core: Pick<Core, 'info' | 'group'>,
  clients: KubeClients,
  rendered: RenderedObject[],
  served: (apiVersion: string, kind: string) => Promise<unknown>,
  opts: { release: string; namespace: string; helmPath: string },
): Promise<{ applied: AppliedCrd[]; createdFirst: string[] }> {
  const crds = chartCrds(rendered);
  const applied = crds.length
    ? await core.group(`Apply ${crds.length} CRD(s) from crds/ folders`, () => applyCrds(core, clients, crds))
    : [];
  const first = (await crdsNeededFirst(rendered, served)).map((r) =>
    withHelmOwnership(r, opts.release, opts.namespace),
  );
  if (first.length)
    applied.push(
      ...(await core.group(`Create ${first.length} templated CRD(s) for Helm to adopt`, () =>
        applyCrds(core, clients, first, { fieldManager: helmFieldManager(opts.helmPath) }),
      )),
    );
  return { applied, createdFirst: first.map((r) => r.object.metadata.name) };
}

/** Helm 4 names its field manager after its binary (pkg/kube/client.go getManagedFieldsManager). */
const helmFieldManager = (helmPath: string) => basename(helmPath);

/** After the upgrade: every templated CRD is on the server and Established; what changed since `before`. */
export async function verifyTemplatedCrds(
  core: Pick<Core, 'info'>,
  clients: KubeClients,
  crds: RenderedObject[],
  before: Map<string, RawCrd | undefined>,
  createdFirst: string[],
  timeoutMs = 120_000,
): Promise<AppliedCrd[]> {
  const out: AppliedCrd[] = [];
  for (const { object } of crds) {
    const name = object.metadata.name;
    const started = Date.now();
    await waitEstablished(clients, name, timeoutMs);
    const by = createdFirst.includes(name) ? 'platform-install, adopted by helm' : 'helm';
    const entry = describeChange(name, before.get(name), await readRawCrd(clients, name), by, Date.now() - started);
    core.info(`CRD ${name} (templated, Helm's): ${entry.change}, Established (versions ${entry.versions.join(', ')})`);
    out.push(entry);
  }
  return out;
}

export async function snapshotCrds(
  clients: KubeClients,
  crds: RenderedObject[],
): Promise<Map<string, RawCrd | undefined>> {
  const out = new Map<string, RawCrd | undefined>();
  for (const { object } of crds) out.set(object.metadata.name, await readRawCrd(clients, object.metadata.name));
  return out;
}

function describeChange(
  name: string,
  before: RawCrd | undefined,
  after: RawCrd | undefined,
  by: AppliedCrd['by'],
  establishedMs: number,
): AppliedCrd {
  const change = !before
    ? 'created'
    : JSON.stringify(before.spec) === JSON.stringify(after?.spec)
      ? 'unchanged'
      : 'changed';
  const versions = (after?.spec.versions ?? []).filter((v) => v.served).map((v) => v.name);
  return { name, versions, change, by, establishedMs };
}

// Polled, not watched: a handful of objects that the API server establishes within a second.
async function waitEstablished(clients: KubeClients, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const crd = await readRawCrd(clients, name);
    if (!crd)
      throw new Error(
        `CRD ${name} is not on the server after the install; is crds.create ` +
          `(or the chart's CRD value) turned off while the chart still renders it?`,
      );
    const conds = crd.status?.conditions ?? [];
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const names = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
    if (names)
      throw new Error(`CRD ${name} cannot be established: NamesAccepted=False (${names.reason}: ${names.message})`);
    if (Date.now() > deadline)
      throw new Error(
        `CRD ${name} was applied but did not become Established ` +
          `within ${Math.round(timeoutMs / 1000)}s (conditions: ${JSON.stringify(conds)})`,
      );
    await sleep(delay);
  }
}
