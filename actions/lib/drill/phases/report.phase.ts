// Final: the report (report.ts) in the log and the job summary.
import { writeSummary } from '../../report/outcome.js';
import { definePhase } from '../pipeline.js';
import { renderReport } from '../report.js';
import { drillResult } from '../result.js';

export const report = definePhase({
  name: 'report',
  needs: [],
  gives: [],
  reads: [],
  async run(ctx) {
    const { core } = ctx;
    const text = renderReport(drillResult(ctx));
    core.info('\n' + text);
    await writeSummary(core, text);
  },
});
