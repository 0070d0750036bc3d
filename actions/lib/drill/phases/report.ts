// Final: the report (report.ts) in the log and the job summary.
import { messageOf } from '../../errors.js';
import { definePhase } from '../pipeline.js';
import { renderReport } from '../report.js';

export const report = definePhase({
  name: 'report',
  needs: [],
  gives: [],
  async run({ core, result }) {
    const text = renderReport(result);
    core.info('\n' + text);
    try {
      await core.summary.addRaw(text, true).write();
    } catch (err) {
      core.warning(`could not write the job summary: ${messageOf(err)}`);
    }
  },
});
