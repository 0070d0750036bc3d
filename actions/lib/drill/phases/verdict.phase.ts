// Final: the result's target is assembled from the facts that describe it, and the verdict is
// settled once the teardown is known (an incomplete teardown fails the drill, unless the drill could
// not judge: then it stays an error); the step fails last, after everything is recorded and
// reported: with the reasons (failed), or with the error and what to do (error).
import { failWithError, failWithReasons } from '../../report/outcome.js';
import { definePhase, given } from '../pipeline.js';
import { targetReport } from '../targets.js';
import { checksNotEvaluated } from '../content-report.js';

export const settleVerdict = definePhase({
  name: 'verdict',
  needs: [],
  gives: [],
  async run({ result, facts, inputs }) {
    // The one place result.target is written: from the facts its phases gave (any may be missing).
    const { target, pin, stop } = facts;
    const report = targetReport(target, pin, stop && given(stop), inputs.judgeCounts);
    if (report) result.target = report;
    if (!result.error && !result.reasons.length) result.error = checksNotEvaluated(result.checks);
    result.verdict = result.error ? 'error' : result.reasons.length ? 'failed' : 'passed';
  },
});

export const stepStatus = definePhase({
  name: 'step-status',
  needs: [],
  gives: [],
  async run({ core, result, thrown }) {
    if (result.verdict === 'failed') failWithReasons(core, result.reasons, { prefix: 'restore drill failed: ' });
    if (result.verdict !== 'error' || !result.error) return;
    // A usage error keeps its one message (it names the input and the fix).
    if (result.error.kind === 'input') return failWithError(core, thrown ?? result.error.message);
    const { kind, message, fix } = result.error;
    core.setFailed(`restore drill error (${kind}, the backup was not judged): ${message}. What to do: ${fix}.`);
  },
});
