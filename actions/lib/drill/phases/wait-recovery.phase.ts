// Waits for the recovery cluster to be healthy (wait.ts) and measures the RTO from its creation;
// hands on the restore's log, captured while it existed (CNPG deletes completed bootstrap Jobs), and
// the moments it saw (its own timings, from create's `created`).
import { VerdictError } from '../../errors.js';
import { definePhase } from '../pipeline.js';
import { RecoveryFailed, waitForRecovery, type RecoveryTimings } from '../wait.js';
import { RestoreLog } from '../restore-log.js';

export const waitRecovery = definePhase({
  name: 'wait-recovery',
  title: 'wait for the recovery (RTO)',
  needs: ['recoveryName', 'created'],
  gives: ['restoreLog', 'recoveredTimings'],
  async run({ inputs, site, signal, retry, log, result }, { recoveryName, created }) {
    const timings: RecoveryTimings = { created };
    const restoreLog = new RestoreLog(site.clients, site.namespace);
    const opts = {
      deadline: created + inputs.timeoutMs,
      signal,
      retry,
      log,
      stallTimeoutMs: inputs.stallTimeoutMs,
      capture: restoreLog,
    };
    await waitForRecovery(site.clients, site.namespace, recoveryName, timings, opts).catch((err) => {
      if (!(err instanceof RecoveryFailed)) throw err;
      result.recoveryLog = err.logTail;
      throw new VerdictError([err.message]);
    });
    const since = (t?: number) => (t ? Math.round((t - timings.created) / 100) / 10 : undefined);
    result.rtoSeconds = since(timings.healthy);
    result.recoveryPhases = {
      jobRunningS: since(timings.jobRunning),
      jobDoneS: since(timings.jobDone),
      readyS: since(timings.healthy),
    };
    log(`recovery cluster healthy after ${result.rtoSeconds} s`);
    return { restoreLog, recoveredTimings: timings };
  },
});
