// Compares each database of the restore with live's baseline (compare.ts). Differences are
// reasons, not errors: every database is compared and the final phases still run.
import { getCluster } from '../../cnpg/api.js';
import { comparisonReasons, compareWithRestore } from '../compare.js';
import { definePhase } from '../pipeline.js';
import { openSession, type Session } from '../sessions.js';
import { countSettings } from './baseline.js';

export const compare = definePhase({
  name: 'compare',
  title: 'compare the restore with live',
  needs: ['recoveryName', 'baselines'],
  gives: ['restoredSessions'],
  async run(ctx, { recoveryName, baselines }) {
    const { site, retry, result } = ctx;
    const restored = (await getCluster(site.clients, site.namespace, recoveryName, retry))!;
    const restoredSessions: Session[] = [];
    for (const base of baselines) {
      // Through the recovery site's API server (its own port-forward when that is another cluster).
      const s = await openSession(ctx, restored, base.database, `${recoveryName}-superuser`, site.clients);
      restoredSessions.push(s);
      result.databases.push(await compareWithRestore(s.db, base, countSettings(ctx)));
    }
    result.reasons.push(...result.databases.flatMap(comparisonReasons));
    return { restoredSessions };
  },
});
