// With `restore-point: true`: a named restore point on live, archived before the recovery starts,
// so the recovery stops exactly there (restore-point.ts).
import { RESTORE_POINT_ARCHIVED_MS } from '../limits.js';
import { definePhase } from '../pipeline.js';
import { createRestorePoint, waitArchived } from '../restore-point.js';

export const restorePoint = definePhase({
  name: 'restore-point',
  title: 'restore point on live',
  when: ({ inputs }) => inputs.restorePoint || 'restore-point is false',
  needs: ['liveSessions', 'recoveryName', 'timeoutMs'],
  gives: ['restorePoint'],
  reads: ['restorePoint', 'statementTimeoutMs'],
  async run({ inputs, signal, log }, { liveSessions, recoveryName, timeoutMs }) {
    const primary = liveSessions[0];
    const rp = await createRestorePoint(primary.conn.conn, recoveryName, inputs.statementTimeoutMs);
    log(`restore point '${rp.name}' created at ${rp.lsn} (segment ${rp.segment}); waiting for it to be archived`);
    await waitArchived(primary.db, rp, {
      deadline: Date.now() + Math.min(timeoutMs, RESTORE_POINT_ARCHIVED_MS),
      signal,
    });
    return { restorePoint: rp };
  },
});
