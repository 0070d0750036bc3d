// The RPO: how far the restore is behind live at drill start (rpo.ts). Where replay ended comes
// from the restored instance, else from the restore's log captured while it existed (the
// instance restarted after the restore promoted), else the best lower bound: the restore point
// or the last archived segment.
import { definePhase, given } from '../pipeline.js';
import type { RestorePoint } from '../restore-point.js';
import type { Inventory } from '../inventory.js';
import { computeRpo, readReplayPoint } from '../rpo.js';
import { replayFromRestoreLog } from '../restore-log.js';
import { rpoFromArchive } from '../targets.js';

export const rpo = definePhase({
  name: 'rpo',
  needs: ['restoredSessions', 'mark', 'restorePoint', 'inventory', 'restoreLog', 'pin', 'target'],
  gives: ['rpo'],
  reads: [],
  async run(_ctx, { restoredSessions, mark, restorePoint, inventory, restoreLog, pin, target }) {
    // A restore that stops at a chosen point says nothing about how far the archive trails live.
    if (pin.recoveryTarget && !pin.recoveryTarget.targetName)
      return {
        rpo: rpoFromArchive(mark, inventory.archiving.archiver, target.walSegmentBytes ?? 16 * 1024 * 1024),
      };
    const replay = await readReplayPoint(restoredSessions[0].db);
    if (!replay.lastCommitAt) replayFromRestoreLog(restoreLog, replay);
    return { rpo: computeRpo(mark, replay, dataTimeFallback(given(restorePoint), inventory)) };
  },
});

function dataTimeFallback(
  restorePoint: RestorePoint | undefined,
  inventory: Inventory,
): { at: string; what: string } | undefined {
  if (restorePoint) return { at: restorePoint.createdAt, what: `the restore point '${restorePoint.name}'` };
  const last = inventory.archiving.archiver?.lastArchivedTime;
  return last ? { at: last, what: 'the last WAL segment archived before the drill' } : undefined;
}
