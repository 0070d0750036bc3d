// Every rendered object's apiVersion/kind must be served by the cluster or defined by a CRD the
// chart carries; otherwise the upgrade fails half-way (reference drill item 12: a PodMonitor
// where monitoring.coreos.com is absent). Reports the object, the group and the value to turn off.
import type { ChartTree } from '../chart-files.js';
import type { Discovery } from '../discovery.js';
import { describeObject, groupVersionOf, type RenderedObject } from '../render.js';
import { findValueGate } from './value-gate.js';

export interface ChartCrdKinds {
  /** `<group>/<version>` -> kinds defined by the chart's CRDs. */
  has(apiVersion: string, kind: string): boolean;
}

export function chartCrdKinds(rendered: RenderedObject[]): ChartCrdKinds {
  const defined = new Set<string>();
  for (const { object } of rendered) {
    if (object.kind !== 'CustomResourceDefinition') continue;
    const spec = object.spec as {
      group: string;
      names: { kind: string };
      versions?: { name: string; served?: boolean }[];
    };
    for (const v of spec.versions ?? [])
      if (v.served !== false) defined.add(`${spec.group}/${v.name}|${spec.names.kind}`);
  }
  return { has: (apiVersion, kind) => defined.has(`${apiVersion}|${kind}`) };
}

export interface MissingType {
  object: string;
  apiVersion: string;
  group: string;
  template: string;
  value?: string;
  message: string;
}

export async function checkCrdGroups(
  rendered: RenderedObject[],
  discovery: Discovery,
  tree: ChartTree,
): Promise<MissingType[]> {
  const chartKinds = chartCrdKinds(rendered);
  const missing: MissingType[] = [];
  for (const r of rendered) {
    const { apiVersion, kind } = r.object;
    if (chartKinds.has(apiVersion, kind) || (await discovery.kind(apiVersion, kind))) continue;
    const { group } = groupVersionOf(apiVersion);
    const groupServed = discovery.groupVersions.some((gv) => groupVersionOf(gv).group === group);
    const gate = findValueGate(tree, r.source, kind);
    const why = groupServed
      ? `the cluster serves group ${group || 'core'} but not ${kind} in ${apiVersion}`
      : `the cluster does not serve API group ${group || 'core'} and no CRD in the chart defines it`;
    const fix = gate.value
      ? `turn it off with ${gate.value}=false (${gate.evidence}) or install the CRDs of ${group} first`
      : `no values key gating ${r.source} was found: disable that template or install the CRDs of ${group} first`;
    missing.push({
      object: describeObject(r.object),
      apiVersion,
      group,
      template: r.source,
      value: gate.value,
      message: `${describeObject(r.object)} (${r.source}) needs ${apiVersion}: ${why}; ${fix}.`,
    });
  }
  return missing;
}
