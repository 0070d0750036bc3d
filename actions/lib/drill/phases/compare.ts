// Compares each database of the restore with live's baseline (compare.ts): the restore is read
// in full (every table counted), under the drill's deadline. Differences are reasons, not
// errors: every database is compared and the final phases still run.
import { getCluster } from '../../cnpg/api.js';
import { comparisonReasons, compareWithRestore } from '../compare.js';
import { definePhase } from '../pipeline.js';
import { openRestoreSession, type Session } from '../sessions.js';
import { countSettings } from './baseline.js';

export const compare = definePhase({
  name: 'compare',
  title: 'compare the restore with live (full read)',
  needs: ['recoveryName', 'baselines', 'timings'],
  gives: ['restoredSessions'],
  async run(ctx, { recoveryName, baselines, timings }) {
    const { clients, inputs, retry, result } = ctx;
    const restored = (await getCluster(clients, inputs.namespace, recoveryName, retry))!;
    const deadline = timings.created + inputs.timeoutMs;
    const restoredSessions: Session[] = [];
    for (const base of baselines) {
      const s = await openRestoreSession(ctx, restored, base.database, `${recoveryName}-superuser`, deadline);
      restoredSessions.push(s);
      result.databases.push(await compareWithRestore(s.db, base, { ...countSettings(ctx), deadline }));
    }
    result.reasons.push(...result.databases.flatMap(comparisonReasons));
    return { restoredSessions };
  },
});
