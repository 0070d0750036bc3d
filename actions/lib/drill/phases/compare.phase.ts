// Compares each database of the restore with live's baseline (compare.ts): the restore is read
// in full (every table counted), under the drill's deadline. Differences are reasons, not
// errors: every database is compared and the final phases still run.
import { getCluster } from '../../cnpg/api.js';
import { comparisonReasons, compareWithRestore, countSettings, notComparedNote } from '../compare.js';
import { definePhase } from '../pipeline.js';
import { openRestoreSession, type Session } from '../sessions.js';
import { judgeExactly } from '../same-moment.js';
import { restoreContent, uncomparedChecks } from '../content-phase.js';

export const compare = definePhase({
  name: 'compare',
  title: 'compare the restore with live (full read)',
  needs: ['recoveryName', 'baselines', 'created', 'pin', 'live'],
  gives: ['restoredSessions'],
  async run(ctx, { recoveryName, baselines, created, pin, live }) {
    const { site, inputs, retry, result } = ctx;
    const restored = (await getCluster(site.clients, site.namespace, recoveryName, retry))!;
    const deadline = created + inputs.timeoutMs;
    const restoredSessions: Session[] = [];
    for (const base of baselines) {
      const s = await openRestoreSession(ctx, restored, base.database, `${recoveryName}-superuser`, deadline);
      restoredSessions.push(s);
      const known = await restoreContent(ctx, s.db, base, pin.exact, live);
      const c = await compareWithRestore(s.db, base, { ...countSettings(ctx), deadline }, known);
      result.databases.push(pin.exact ? judgeExactly(c) : c);
    }
    result.notes.push(...result.databases.flatMap(notComparedNote));
    uncomparedChecks(
      ctx,
      baselines.map((b) => b.database),
    );
    // Older targets: live has moved on, so counts are reported and judged only when asked.
    result.reasons.push(
      ...result.databases.flatMap((c) => comparisonReasons(inputs.judgeCounts ? c : { ...c, outOfTolerance: [] })),
    );
    return { restoredSessions };
  },
});
