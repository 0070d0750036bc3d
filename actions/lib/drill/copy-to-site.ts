// Used by the create phase at a sandbox or recovery site: copies what the recovery reads from the live
// namespace (recovery-copies.ts) and points the manifest at the copies. Dry runs first, so a
// refusal there (permissions, the operator's webhook) fails with nothing created; the copies
// are registered in ctx.owned and the post step's state BEFORE the first real create.
import { describeError } from '../errors.js';
import { getObjectStore } from '../cnpg/api.js';
import { CNPG_GROUP, CNPG_VERSION, Plural, type Cluster } from '../cnpg/types.js';
import type { LiveSpec } from './live-spec.js';
import type { PhaseContext } from './pipeline.js';
import { copyLabels, makeCopies, planCopies, retargetManifest, type CopyContext } from './recovery-copies.js';
import { DrillLabel } from './recovery-manifest.js';
import { State } from './state.js';

export async function copyToSite(
  ctx: PhaseContext<'namespace' | 'cluster'>,
  manifest: Cluster,
  spec: LiveSpec,
): Promise<void> {
  const { core, inputs, site, clients, retry, log } = ctx;
  const name = manifest.metadata.name;
  const objectStore = spec.plugin
    ? await getObjectStore(clients, inputs.namespace, spec.plugin.barmanObjectName, retry)
    : undefined;
  const plan = planCopies(spec.store, objectStore, spec.pod);
  retargetManifest(manifest, site.namespace, plan);
  const copy: CopyContext = {
    core,
    live: clients,
    liveNamespace: inputs.namespace,
    site: site.clients,
    namespace: site.namespace,
    recovery: name,
    labels: copyLabels(inputs.cluster, name, manifest.metadata.labels?.[DrillLabel.run] ?? 'local'),
    retry,
  };
  await makeCopies(copy, plan, true);
  const dryRun = {
    group: CNPG_GROUP,
    version: CNPG_VERSION,
    namespace: site.namespace,
    plural: Plural.clusters,
    body: manifest,
    dryRun: 'All',
  };
  await site.clients.custom.createNamespacedCustomObject(dryRun).catch((err) => {
    throw new Error(`${site.where} refuses the recovery cluster (dry run, nothing created): ${describeError(err)}`);
  });
  ctx.owned.copies = { objectStores: !!plan.objectStore, configMaps: plan.configMaps.length > 0 };
  core.saveState(State.copies, 'true');
  if (plan.objectStore) core.saveState(State.objectStoreCopy, 'true');
  if (plan.configMaps.length) core.saveState(State.configMapCopy, 'true');
  const made = await makeCopies(copy, plan);
  log(`copied to ${site.where}: ${made.join(', ') || 'nothing (the recovery references no Secret or ConfigMap)'}`);
}
