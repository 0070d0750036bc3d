// Compares each database of the restore with live's baseline (compare.ts): the restore is read
// in full (every table counted), under the drill's deadline. Differences are reasons, not
// errors: every database is compared and the final phases still run.
import { getCluster } from '../../cnpg/api.js';
import { comparisonReasons, compareWithRestore, countSettings, notComparedNote } from '../compare.js';
import { definePhase } from '../pipeline.js';
import { openRestoreSession, type Session } from '../sessions.js';
import { judgeExactly } from '../same-moment.js';
import { restoreContent, uncomparedChecks, unmatchedSensitiveNotes } from '../content-phase.js';
import type { Comparison } from '../result.js';

export const compare = definePhase({
  name: 'compare',
  title: 'compare the restore with live (full read)',
  needs: ['recoveryName', 'baselines', 'created', 'pin', 'timeoutMs', 'live'],
  gives: ['restoredSessions', 'comparison'],
  reads: [
    'connectionMode',
    'countConcurrency',
    'liveCounts',
    'liveExactMaxBytes',
    'tolerance',
    'floor',
    'judgeCounts',
    'compare',
    'contentSensitiveKeys',
    'checks',
    'statementTimeoutMs',
    'credentialsSecret',
  ],
  async run(ctx, { recoveryName, baselines, created, pin, timeoutMs, live }) {
    const { site, inputs, retry } = ctx;
    const restored = (await getCluster(site.clients, site.namespace, recoveryName, retry))!;
    const deadline = created + timeoutMs;
    const restoredSessions: Session[] = [];
    // What a comparison that stops part way found still reaches the report.
    const found: Comparison = { databases: [], reasons: [], notes: [] };
    try {
      for (const base of baselines) {
        const s = await openRestoreSession(ctx, restored, base.database, `${recoveryName}-superuser`, {
          deadline,
          timeoutMs,
        });
        restoredSessions.push(s);
        const known = await restoreContent(ctx, s.db, base, pin.exact, found, live);
        const c = await compareWithRestore(s.db, base, { ...countSettings(ctx), deadline }, known);
        found.databases.push(pin.exact ? judgeExactly(c) : c);
      }
      found.notes.push(...found.databases.flatMap(notComparedNote));
      if (inputs.compare === 'content')
        found.notes.push(...unmatchedSensitiveNotes(inputs.contentSensitiveKeys, baselines));
      uncomparedChecks(
        ctx,
        baselines.map((b) => b.database),
        found,
      );
      // Older targets: live has moved on, so counts are reported and judged only when asked.
      found.reasons.push(
        ...found.databases.flatMap((c) => comparisonReasons(inputs.judgeCounts ? c : { ...c, outOfTolerance: [] })),
      );
    } finally {
      ctx.give({ comparison: found });
    }
    return { restoredSessions, comparison: found };
  },
});
