// Waits for the recovery cluster to be healthy (wait.ts) and measures the RTO from its creation;
// hands on the restore's log, captured while it existed (CNPG deletes completed bootstrap Jobs), and
// the moments it saw (its own timings, from create's `created`).
import { VerdictError } from '../../errors.js';
import { definePhase } from '../pipeline.js';
import { RecoveryFailed, waitForRecovery, type RecoveryTimings } from '../wait.js';
import { unjudgedTimeTarget } from '../targets.js';
import { RestoreLog } from '../restore-log.js';
import { recoveryMeasures } from '../result.js';

export const waitRecovery = definePhase({
  name: 'wait-recovery',
  title: 'wait for the recovery (RTO)',
  needs: ['recoveryName', 'created', 'timeoutMs', 'target'],
  gives: ['restoreLog', 'recoveredTimings', 'recoveryLog'],
  reads: ['stallTimeoutMs'],
  async run({ inputs, site, signal, retry, log, give }, { recoveryName, created, timeoutMs, target }) {
    const timings: RecoveryTimings = { created };
    const restoreLog = new RestoreLog(site.clients, site.namespace);
    const opts = {
      deadline: created + timeoutMs,
      signal,
      retry,
      log,
      stallTimeoutMs: inputs.stallTimeoutMs,
      capture: restoreLog,
    };
    await waitForRecovery(site.clients, site.namespace, recoveryName, timings, opts).catch((err) => {
      if (!(err instanceof RecoveryFailed)) throw err;
      give({ recoveryLog: err.logTail });
      // Not the backup's fault when the drill could not see where the archive's commits end.
      const unjudged = unjudgedTimeTarget(target, `${err.message}\n${err.logTail ?? ''}`);
      throw unjudged ? new Error(unjudged, { cause: err }) : new VerdictError([err.message]);
    });
    log(`recovery cluster healthy after ${recoveryMeasures(timings).rtoSeconds} s`);
    return { restoreLog, recoveredTimings: timings, recoveryLog: undefined };
  },
});
