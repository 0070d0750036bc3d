// Final: the report (report.ts) in the log and the job summary.
import { writeSummary } from '../../report/outcome.js';
import { definePhase } from '../pipeline.js';
import { renderReport } from '../report.js';

export const report = definePhase({
  name: 'report',
  needs: [],
  gives: [],
  async run({ core, result }) {
    const text = renderReport(result);
    core.info('\n' + text);
    await writeSummary(core, text);
  },
});
