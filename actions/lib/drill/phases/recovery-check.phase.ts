// Checks that recovery stopped where it was asked (recovery-check.ts), for every target that
// names a point: the pinned moment, time, lsn, oldest, random. A miss is a reason; a check that
// cannot be made (the instance forgot its last replayed commit) is a note.
import { definePhase } from '../pipeline.js';
import { checkStop } from '../recovery-check.js';
import { readReplayPoint } from '../rpo.js';
import { replayFromRestoreLog } from '../restore-log.js';

export const recoveryCheck = definePhase({
  name: 'recovery-check',
  title: 'check where recovery stopped',
  needs: ['restoredSessions', 'pin', 'target', 'moment', 'restoreLog'],
  // A restore point (targetName) is where the recovery stops by definition: nothing to check.
  when: (_env, { pin }) =>
    !pin.recoveryTarget
      ? 'the recovery replays to the end of the archive'
      : !pin.recoveryTarget.targetName || 'the recovery stops at a restore point',
  gives: ['stop'],
  reads: [],
  async run(ctx, { restoredSessions, pin, target, moment, restoreLog }) {
    const replay = await readReplayPoint(restoredSessions[0].db);
    if (!replay.lastCommitAt) replayFromRestoreLog(restoreLog, replay);
    const check = checkStop(
      {
        target: pin.recoveryTarget!,
        backupEndLsn: target.backup?.endLSN,
        backupEndAt: target.backup?.stoppedAt,
        momentAt: pin.exact || pin.recoveryTarget!.targetLSN === moment?.lsn ? moment?.at : undefined,
        walSegmentBytes: target.walSegmentBytes ?? 16 * 1024 * 1024,
      },
      replay,
    );
    // Its misses (reasons) and what it could not check (a note) are read from `stop` (result.ts drillResult).
    for (const l of check.lines) ctx.log(`recovery stop: ${l}`);
    return { stop: check };
  },
});
