// Live's schema and row counts per database (compare.ts), counted as live-counts says (on the
// primary's sessions, or on a replica's for live-counts: replica); then the live sessions are
// closed: the drill holds no connection to production while it waits for the recovery.
import type { CountSettings } from '../compare.js';
import { takeBaseline, type Baseline } from '../compare.js';
import { definePhase, type DrillContext } from '../pipeline.js';
import { closeSession, openLiveReplicaSession } from '../sessions.js';

/** How rows are counted and compared, from the inputs (baseline and compare use the same). */
export function countSettings({ inputs, signal, log }: DrillContext): CountSettings {
  return { live: inputs.liveCounts, liveExactMaxBytes: inputs.liveExactMaxBytes, concurrency: inputs.countConcurrency, tolerance: inputs.tolerance, floor: inputs.floor, signal, log };
}

export const baseline = definePhase({
  name: 'baseline',
  title: 'baseline from live (schema + row counts)',
  needs: ['live', 'liveSessions'],
  gives: ['baselines'],
  async run(ctx, { live, liveSessions }) {
    const { inputs } = ctx;
    ctx.result.counting = { live: inputs.liveCounts, liveExactMaxBytes: inputs.liveExactMaxBytes, verify: inputs.verify };
    const baselines: Baseline[] = [];
    for (const s of liveSessions) {
      let b: Baseline;
      if (inputs.liveCounts === 'replica') {
        const r = await openLiveReplicaSession(ctx, live, s.database);
        ctx.log(`counting live ${s.database} on replica ${r.conn.pod}`);
        b = await takeBaseline(r.db, s.database, countSettings(ctx), 'replica');
        await closeSession(r);
      } else b = await takeBaseline(s.db, s.database, countSettings(ctx));
      ctx.log(`live ${s.database}: ${b.schema.tables.length} tables, ${b.schema.indexes.length} indexes, ${b.counts.reduce((n, c) => n + (c.rows || 0), 0)} rows`);
      baselines.push(b);
    }
    await Promise.all(liveSessions.map(closeSession));
    return { baselines };
  },
});
