// Drill clusters an earlier cancelled run left behind (its post step never ran): torn down once
// past the TTL (sweep.ts).
import { SWEEP_MS } from '../limits.js';
import { definePhase, type PhaseContext } from '../pipeline.js';
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
    const sweepNotes: string[] = [];
    try {
      await sweepSite(ctx, mode === 'plugin', sweepNotes);
    } finally {
      ctx.give({ sweepNotes });
    }
    return { sweepNotes };
  },
});

/** Sweeps the recovery site, noting (in `notes`) each cluster and orphan copy swept. */
async function sweepSite(
  { inputs, site, signal, retry, log }: PhaseContext<'sweepTtlMs'>,
  objectStores: boolean,
  notes: string[],
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
    notes.push(
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
  for (const o of orphans) notes.push(`swept copies left for a recovery cluster that was never created: ${o}`);
}
