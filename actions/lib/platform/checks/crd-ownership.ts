// A templated CRD that already exists without Helm's ownership metadata for this release (put
// there by kubectl, another tool or another release) makes Helm refuse the whole upgrade with
// "invalid ownership metadata" (helm pkg/action/validate.go, CONFORMANCE.md section 10). Found
// before any write, naming the CRD, its template and both ways out.
import type { ChartTree } from '../chart-files.js';
import { describeObject, type RenderedObject } from '../render.js';
import { findValueGate } from './value-gate.js';

interface ExistingMeta {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

export function crdOwnershipProblems(
  templated: RenderedObject[],
  existing: Map<string, ExistingMeta | undefined>,
  tree: ChartTree,
  release: string,
  namespace: string,
): string[] {
  const problems: string[] = [];
  for (const r of templated) {
    const name = r.object.metadata.name;
    const found = existing.get(name);
    if (!found) continue;
    const labels = found.metadata.labels ?? {};
    const annotations = found.metadata.annotations ?? {};
    const wrong = [
      labels['app.kubernetes.io/managed-by'] !== 'Helm' &&
        `label app.kubernetes.io/managed-by is ${quoted(labels['app.kubernetes.io/managed-by'])}, not "Helm"`,
      annotations['meta.helm.sh/release-name'] !== release &&
        `annotation meta.helm.sh/release-name is ${quoted(annotations['meta.helm.sh/release-name'])}, not "${release}"`,
      annotations['meta.helm.sh/release-namespace'] !== namespace &&
        `annotation meta.helm.sh/release-namespace is ${quoted(annotations['meta.helm.sh/release-namespace'])}, not "${namespace}"`,
    ].filter(Boolean);
    if (!wrong.length) continue;
    const other = annotations['meta.helm.sh/release-name']
      ? ` (it belongs to release ${annotations['meta.helm.sh/release-namespace']}/${annotations['meta.helm.sh/release-name']})`
      : '';
    const gate = findValueGate(tree, r.source, 'CustomResourceDefinition').value;
    const adopt =
      `kubectl label crd ${name} app.kubernetes.io/managed-by=Helm --overwrite && kubectl annotate ` +
      `crd ${name} meta.helm.sh/release-name=${release} meta.helm.sh/release-namespace=${namespace} --overwrite`;
    const leave = gate ? `, or keep it outside the release with ${gate}=false` : '';
    problems.push(
      `${describeObject(r.object)} (${r.source}) already exists on the cluster${other} without ` +
        `this release's ownership metadata (${wrong.join('; ')}): Helm would refuse the upgrade ` +
        `("invalid ownership metadata"). Let the release adopt it with \`${adopt}\`${leave}.`,
    );
  }
  return problems;
}

const quoted = (v: string | undefined) => (v === undefined ? 'missing' : `"${v}"`);
