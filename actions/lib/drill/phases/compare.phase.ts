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
    // What the comparison found so far, given after each step (a cancellation abandons the phase at
    // once) and when it stops: a comparison that stops part way reports every database it compared.
    const found: Comparison = { databases: [], reasons: [], notes: [] };
    const giveFound = () => ctx.give({ comparison: comparisonSoFar(found, inputs.judgeCounts) });
    try {
      for (const base of baselines) {
        const s = await openRestoreSession(ctx, restored, base.database, `${recoveryName}-superuser`, {
          deadline,
          timeoutMs,
        });
        restoredSessions.push(s);
        const known = await restoreContent(ctx, s.db, base, pin.exact, found, live);
        giveFound();
        const c = await compareWithRestore(s.db, base, { ...countSettings(ctx), deadline }, known);
        found.databases.push(pin.exact ? judgeExactly(c) : c);
        giveFound();
      }
      if (inputs.compare === 'content')
        found.notes.push(...unmatchedSensitiveNotes(inputs.contentSensitiveKeys, baselines));
      uncomparedChecks(
        ctx,
        baselines.map((b) => b.database),
        found,
      );
    } finally {
      giveFound();
    }
    return { restoredSessions, comparison: comparisonSoFar(found, inputs.judgeCounts) };
  },
});

/**
 * A fresh copy of what was found, with the compared databases' count reasons and not-compared notes. Older
 * targets: live has moved on, so counts are reported and judged only when asked (judge-counts).
 */
function comparisonSoFar(found: Comparison, judgeCounts: boolean): Comparison {
  const { databases } = found;
  return {
    ...found,
    databases: [...databases],
    content: found.content && [...found.content],
    checks: found.checks && [...found.checks],
    reasons: [
      ...found.reasons,
      ...databases.flatMap((c) => comparisonReasons(judgeCounts ? c : { ...c, outOfTolerance: [] })),
    ],
    notes: [...databases.flatMap(notComparedNote), ...found.notes],
  };
}
