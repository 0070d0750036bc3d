// The RPO: how far the restore is behind live at drill start (rpo.ts). Where replay ended comes
// from the restored instance, else from the recovery Job's log (the instance restarted after
// the Job promoted), else the best lower bound: the restore point or the last archived segment.
import { RECOVERY_LOG_LINES } from '../limits.js';
import { definePhase, type DrillContext } from '../pipeline.js';
import type { RestorePoint } from '../restore-point.js';
import type { Inventory } from '../inventory.js';
import { computeRpo, readReplayPoint, replayFromRecoveryLog, type ReplayPoint } from '../rpo.js';
import { jobLogTail, recoveryJobName } from '../wait.js';

export const rpo = definePhase({
  name: 'rpo',
  needs: ['restoredSessions', 'mark', 'restorePoint', 'inventory', 'recoveryName'],
  gives: [],
  async run(ctx, { restoredSessions, mark, restorePoint, inventory, recoveryName }) {
    const replay = await readReplayPoint(restoredSessions[0].db);
    if (!replay.lastCommitAt) await replayFromJobLog(ctx, recoveryName, replay);
    ctx.result.rpo = computeRpo(mark, replay, dataTimeFallback(restorePoint, inventory));
  },
});

/** Fills in what the recovery Job's log says about where replay ended. */
async function replayFromJobLog({ site, retry }: DrillContext, recoveryName: string, replay: ReplayPoint): Promise<void> {
  const log = await jobLogTail(site.clients, site.namespace, recoveryJobName(recoveryName), RECOVERY_LOG_LINES, retry).catch(() => '');
  const fromLog = replayFromRecoveryLog(log);
  if (fromLog.lastCommitAt) {
    replay.lastCommitAt = fromLog.lastCommitAt;
    replay.source += ' + recovery job log';
  }
  if (!replay.lsn && fromLog.lsn) replay.lsn = fromLog.lsn;
}

function dataTimeFallback(restorePoint: RestorePoint | undefined, inventory: Inventory): { at: string; what: string } | undefined {
  if (restorePoint) return { at: restorePoint.createdAt, what: `the restore point '${restorePoint.name}'` };
  const last = inventory.archiving.archiver?.lastArchivedTime;
  return last ? { at: last, what: 'the last WAL segment archived before the drill' } : undefined;
}
