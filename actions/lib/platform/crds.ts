// Helm installs a chart's crds/ only on first install and never upgrades them (reference drill
// item 11). Every run applies them all (chart and subcharts, vendored or packaged, as helm's
// loader renders them) by server-side apply with force, then waits for Established.
import { PatchStrategy, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, sleep, withRetry } from '../kube/retry.js';
import { FIELD_MANAGER } from './checks/dry-run.js';
import type { RenderedObject } from './render.js';

export interface AppliedCrd {
  name: string;
  /** served versions after the apply */
  versions: string[];
  /** created: new; changed: its spec was different; unchanged */
  change: 'created' | 'changed' | 'unchanged';
  establishedMs: number;
}

export function chartCrds(rendered: RenderedObject[]): RenderedObject[] {
  return rendered.filter((r) => r.fromCrdDir && r.object.kind === 'CustomResourceDefinition');
}

export async function applyCrds(core: Pick<Core, 'info'>, clients: KubeClients, crds: RenderedObject[], opts: { timeoutMs?: number } = {}): Promise<AppliedCrd[]> {
  const applied: AppliedCrd[] = [];
  for (const { object } of crds) {
    const name = object.metadata.name;
    const before = await withRetry(`read CRD ${name}`, () => ignoreNotFound(() => clients.crds.readCustomResourceDefinition({ name })));
    const after = (await withRetry(`apply CRD ${name}`, () =>
      clients.objects.patch(object as never, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    )) as unknown as V1CustomResourceDefinition;
    const started = Date.now();
    await waitEstablished(clients, name, opts.timeoutMs ?? 120_000);
    const change = !before ? 'created' : JSON.stringify(before.spec) === JSON.stringify(after.spec) ? 'unchanged' : 'changed';
    const versions = (after.spec?.versions ?? []).filter((v) => v.served).map((v) => v.name);
    core.info(`CRD ${name}: ${change}, Established (versions ${versions.join(', ')})`);
    applied.push({ name, versions, change, establishedMs: Date.now() - started });
  }
  return applied;
}

// Polled, not watched: a handful of objects that the API server establishes within a second.
async function waitEstablished(clients: KubeClients, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const crd = await withRetry(`read CRD ${name}`, () => clients.crds.readCustomResourceDefinition({ name }));
    const conds = crd.status?.conditions ?? [];
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const names = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
    if (names) throw new Error(`CRD ${name} cannot be established: NamesAccepted=False (${names.reason}: ${names.message})`);
    if (Date.now() > deadline) throw new Error(`CRD ${name} was applied but did not become Established within ${Math.round(timeoutMs / 1000)}s (conditions: ${JSON.stringify(conds)})`);
    await sleep(delay);
  }
}
