// Waits for the recovery cluster to be healthy (wait.ts) and measures the RTO from its creation.
import { VerdictError } from '../../errors.js';
import { definePhase } from '../pipeline.js';
import { RecoveryFailed, waitForRecovery } from '../wait.js';

export const waitRecovery = definePhase({
  name: 'wait-recovery',
  title: 'wait for the recovery (RTO)',
  needs: ['recoveryName', 'timings'],
  gives: [],
  async run({ inputs, site, signal, retry, log, result }, { recoveryName, timings }) {
    await waitForRecovery(site.clients, site.namespace, recoveryName, timings, { deadline: timings.created + inputs.timeoutMs, signal, retry, log }).catch((err) => {
      if (!(err instanceof RecoveryFailed)) throw err;
      result.recoveryLog = err.logTail;
      throw new VerdictError([err.message]);
    });
    const since = (t?: number) => (t ? Math.round((t - timings.created) / 100) / 10 : undefined);
    result.rtoSeconds = since(timings.healthy);
    result.recoveryPhases = { jobRunningS: since(timings.jobRunning), jobDoneS: since(timings.jobDone), readyS: since(timings.healthy) };
    log(`recovery cluster healthy after ${result.rtoSeconds} s`);
  },
});
