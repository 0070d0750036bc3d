// Live's schema and row counts per database (compare.ts); then the live sessions are closed:
// the drill holds no connection to production while it waits for the recovery.
import type { CountSettings } from '../compare.js';
import { takeBaseline, type Baseline } from '../compare.js';
import { definePhase, type DrillContext } from '../pipeline.js';
import { closeSession } from '../sessions.js';

/** How rows are counted and compared, from the inputs (baseline and compare use the same). */
export function countSettings({ inputs, signal }: DrillContext): CountSettings {
  return { mode: inputs.countMode, concurrency: inputs.countConcurrency, tolerance: inputs.tolerance, floor: inputs.floor, signal };
}

export const baseline = definePhase({
  name: 'baseline',
  title: 'baseline from live (schema + row counts)',
  needs: ['liveSessions'],
  gives: ['baselines'],
  async run(ctx, { liveSessions }) {
    const baselines: Baseline[] = [];
    for (const s of liveSessions) {
      const b = await takeBaseline(s.db, s.database, countSettings(ctx));
      ctx.log(`live ${s.database}: ${b.schema.tables.length} tables, ${b.schema.indexes.length} indexes, ${b.counts.reduce((n, c) => n + (c.rows || 0), 0)} rows`);
      baselines.push(b);
    }
    await Promise.all(liveSessions.map(closeSession));
    return { baselines };
  },
});
