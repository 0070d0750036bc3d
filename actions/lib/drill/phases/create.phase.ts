// Creates the recovery cluster. Its name is saved for the post step and registered in
// ctx.owned BEFORE the request is sent: a cancellation from here on is cleaned up.
import { statusOf, withRetry } from '../../kube/retry.js';
import { getCluster } from '../../cnpg/api.js';
import { CNPG_GROUP, CNPG_VERSION, Plural, type Cluster } from '../../cnpg/types.js';
import type { LiveSpec } from '../live-spec.js';
import { TEARDOWN_MS } from '../limits.js';
import { definePhase, type PhaseContext } from '../pipeline.js';
import { CREATED_AT_ANNOTATION, recoveryClusterManifest, recoveryOptions } from '../recovery-manifest.js';
import { State } from '../state.js';
import { teardownCluster } from '../teardown.js';
import { copyToSite } from '../copy-to-site.js';
import { credentialsReport } from '../recovery-credentials.js';
import { describeError } from '../../errors.js';

export const create = definePhase({
  name: 'create',
  title: 'create the recovery cluster',
  needs: ['spec', 'pin', 'recoveryName'],
  gives: ['recovery', 'created'],
  reads: ['storageClass', 'recoveryResources', 'namespace', 'cluster'],
  async run(ctx, { spec, pin, recoveryName: name }) {
    const { core } = ctx;
    const createdAt = new Date();
    const manifest = recoveryClusterManifest(spec, recoveryOptions(ctx, name, createdAt, pin.recoveryTarget));
    core.saveState(State.recoveryCluster, name);
    // Post tears down at the recovery site alone: its namespace and kubeconfig (the live one unless another cluster).
    core.saveState(State.namespace, ctx.site.namespace);
    core.saveState(State.kubeconfig, ctx.site.kubeconfig ?? ctx.kubeconfig);
    const recovery = {
      cluster: name,
      site: {
        where: ctx.site.where,
        remote: ctx.site.remote,
        objectStore: objectStoreText(spec),
        credentials: credentialsReport(spec),
      },
    };
    ctx.give({ recovery });
    const creating = (async () => {
      if (!ctx.site.sameNamespace) await copyToSite(ctx, manifest, spec);
      await createCluster(ctx, manifest, createdAt);
    })();
    ctx.owned.recoveryCluster = { name, creating };
    await creating;
    ctx.log(`created recovery cluster ${name} in ${ctx.site.where}`);
    return { recovery, created: Date.now() };
  },
});

/** The report's "restored from": the archive, its endpoint, and the ObjectStore in plugin mode. */
function objectStoreText(spec: LiveSpec): string {
  const at = spec.store.endpointURL ? ` at ${spec.store.endpointURL}` : '';
  return `${spec.store.destinationPath}${at}${spec.plugin ? ` (ObjectStore ${spec.namespace}/${spec.plugin.barmanObjectName})` : ''}`;
}

/** Creates `manifest` at the recovery site; a same-named leftover of an earlier attempt is torn down first. */
async function createCluster(
  { site, retry, signal, log }: PhaseContext,
  manifest: Cluster,
  createdAt: Date,
): Promise<void> {
  const { namespace, clients } = site;
  const name = manifest.metadata.name;
  const body = { group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, body: manifest };
  const send = () =>
    withRetry(`create cluster ${namespace}/${name}`, () => clients.custom.createNamespacedCustomObject(body), retry);
  try {
    await send();
  } catch (err) {
    if (statusOf(err) !== 409)
      throw new Error(`could not create the recovery cluster ${name}: ${describeError(err)}`, { cause: err });
    const existing = await getCluster(clients, namespace, name, retry);
    // Our own create that landed before a lost response: same creation stamp.
    if (existing?.metadata.annotations?.[CREATED_AT_ANNOTATION] === createdAt.toISOString()) return;
    log(`a drill cluster named ${name} is left from an earlier attempt; tearing it down first`);
    const t = await teardownCluster(clients, namespace, name, {
      deadline: Date.now() + TEARDOWN_MS,
      signal,
      retry,
      log,
    });
    if (!t.clean) throw new Error(`cannot reuse the name ${name}: ${t.leftovers.join('; ')}`, { cause: err });
    await send();
  }
}
