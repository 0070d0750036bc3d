// Final: appends the result to the live cluster's drill history (record.ts), which soak-gate-check
// reads. Not after a cancellation (no verdict), and only once the live cluster is known (never after
// a preflight failure). An error is recorded as 'error' with its kind and message (soak-gate-check
// reads it as no new evidence).
import { RECORD_ATTEMPTS } from '../limits.js';
import { definePhase } from '../pipeline.js';
import { recordDrill, type DrillRecord } from '../record.js';
import { drillResult, type DrillResult } from '../result.js';
import { describeError } from '../../errors.js';

export const record = definePhase({
  name: 'record',
  needs: [],
  gives: ['recordNotes'],
  reads: ['recordHistory', 'namespace', 'cluster', 'historySize'],
  // Final phases run only once preflight found the live cluster, so it is known here.
  when: ({ inputs, signal }) => (!inputs.recordHistory ? 'record-history is false' : !signal.aborted || 'cancelled'),
  async run(ctx) {
    const { core, inputs, site } = ctx;
    const recordNotes: string[] = [];
    // Outside the same-namespace mode live is read-only: the record is kept at the recovery site.
    const live = { namespace: inputs.namespace, cluster: inputs.cluster };
    const record = drillRecord(drillResult(ctx));
    await recordDrill(site.clients, site.namespace, live, record, inputs.historySize, {
      attempts: RECORD_ATTEMPTS,
    }).catch((err) => {
      recordNotes.push(`could not record the result in the cluster: ${describeError(err)}`);
      core.warning(`could not record the drill result: ${describeError(err)}`);
    });
    return { recordNotes };
  },
});

function drillRecord(result: DrillResult): DrillRecord {
  return {
    time: new Date().toISOString(),
    verdict: result.verdict,
    reasons: result.error ? [`${result.error.kind}: ${result.error.message}`, ...result.reasons] : result.reasons,
    rtoSeconds: result.rtoSeconds ?? null,
    rpoSeconds: result.rpo?.seconds ?? null,
    backupId: result.backupId ?? null,
    recoveryCluster: result.recoveryCluster ?? '',
    runUrl: result.runUrl ?? null,
  };
}
