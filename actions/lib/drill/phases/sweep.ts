// Drill clusters an earlier cancelled run left behind (its post step never ran): torn down once
// past the TTL (sweep.ts).
import { SWEEP_MS } from '../limits.js';
import { definePhase } from '../pipeline.js';
import { sweepExpired } from '../sweep.js';

export const sweep = definePhase({
  name: 'sweep',
  title: 'sweep expired drill clusters',
  needs: [],
  gives: [],
  async run({ inputs, clients, signal, retry, log, result }) {
    const swept = await sweepExpired(clients, inputs.namespace, { ttlMs: inputs.sweepTtlMs, deadline: Date.now() + SWEEP_MS, signal, retry, log });
    for (const t of swept) result.notes.push(`swept expired drill cluster ${t.cluster}${t.clean ? '' : `, leftovers: ${t.leftovers.join('; ')}`}`);
  },
});
