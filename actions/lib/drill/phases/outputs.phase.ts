// Final: the step's outputs (action.yml lists them).
import { definePhase } from '../pipeline.js';
import { drillResult, type DrillResult } from '../result.js';

export const outputs = definePhase({
  name: 'outputs',
  needs: [],
  gives: [],
  reads: [],
  async run(ctx) {
    const { core } = ctx;
    const result = drillResult(ctx);
    const sum = (f: (d: DrillResult['databases'][number]) => number) => result.databases.reduce((n, d) => n + f(d), 0);
    core.setOutput('result', result.verdict);
    core.setOutput('reasons', JSON.stringify(result.reasons));
    core.setOutput('recovery-cluster', result.recoveryCluster ?? '');
    core.setOutput('backup-id', result.backupId ?? '');
    core.setOutput('rto-seconds', result.rtoSeconds ?? '');
    core.setOutput('rpo-seconds', result.rpo?.seconds ?? '');
    core.setOutput('rpo-bytes', result.rpo?.bytes ?? '');
    core.setOutput(
      'tables-compared',
      sum((d) => d.tablesCompared),
    );
    core.setOutput(
      'schema-differences',
      sum((d) => d.schemaDifferences.length),
    );
    core.setOutput(
      'tables-out-of-tolerance',
      sum((d) => d.outOfTolerance.length),
    );
  },
});
