// Drill clusters an earlier cancelled run left behind (its post step never ran): torn down once
// past the TTL (sweep.ts).
import { SWEEP_MS } from '../limits.js';
import { definePhase, growingList, type PhaseContext } from '../pipeline.js';
import { listClusters } from '../../cnpg/api.js';
import { DRILL_SELECTOR } from '../recovery-manifest.js';
import { removeCopies, sweepOrphanCopies } from '../recovery-copies.js';
import { sweepExpired } from '../sweep.js';

export const sweep = definePhase({
  name: 'sweep',
  title: 'sweep expired drill clusters',
  needs: ['mode'],
  gives: ['sweepNotes'],
  reads: ['sweepTtlMs'],
  async run(ctx, { mode }) {
    // Each note given as the sweep finds it: a cancelled sweep still reports what it removed.
    const notes = growingList<string>((sweepNotes) => ctx.give({ sweepNotes }));
    await sweepSite(ctx, mode === 'plugin', notes.add);
    return { sweepNotes: notes.list };
  },
});

/** Sweeps the recovery site, noting each cluster and orphan copy swept. */
async function sweepSite(
  { inputs, site, signal, retry, log }: PhaseContext<'sweepTtlMs'>,
  objectStores: boolean,
  note: (n: string) => void,
): Promise<void> {
  const swept = await sweepExpired(site.clients, site.namespace, {
    ttlMs: inputs.sweepTtlMs,
    deadline: Date.now() + SWEEP_MS,
    signal,
    retry,
    log,
  });
  for (const t of swept) {
    // At a sandbox / recovery site the expired cluster's copied Secrets (and ObjectStore) go too.
    if (!site.sameNamespace)
      t.leftovers.push(
        ...(await removeCopies(site.clients, site.namespace, t.cluster, {
          objectStores,
          retry,
        })),
      );
    note(
      `swept expired drill cluster ${t.cluster}${t.leftovers.length ? `, leftovers: ${t.leftovers.join('; ')}` : ''}`,
    );
  }
  if (site.sameNamespace) return;
  const clusters = new Set(
    (await listClusters(site.clients, site.namespace, DRILL_SELECTOR, retry)).map((c) => c.metadata.name),
  );
  const orphans = await sweepOrphanCopies(site.clients, site.namespace, clusters, {
    ttlMs: inputs.sweepTtlMs,
    objectStores,
    retry,
  });
  for (const o of orphans) note(`swept copies left for a recovery cluster that was never created: ${o}`);
}
