// Final: the verdict is settled once the teardown is known (an incomplete teardown fails the drill);
// the step fails last, after everything is recorded and reported.
import { failWithReasons } from '../../report/outcome.js';
import { definePhase } from '../pipeline.js';

export const settleVerdict = definePhase({
  name: 'verdict',
  needs: [],
  gives: [],
  async run({ result }) {
    result.verdict = result.reasons.length ? 'failed' : 'passed';
  },
});

export const stepStatus = definePhase({
  name: 'step-status',
  needs: [],
  gives: [],
  async run({ core, result }) {
    if (result.verdict === 'failed') failWithReasons(core, result.reasons, { prefix: 'restore drill failed: ' });
  },
});
