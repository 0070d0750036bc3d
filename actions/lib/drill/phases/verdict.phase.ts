// Final: the verdict is settled once the teardown is known (an incomplete teardown fails the drill,
// unless the drill could not judge: then it stays an error), with the target report made from the
// facts that describe it; result.ts drillResult puts both in the result. The step fails last, after
// everything is recorded and reported: with the reasons (failed), or with the error and what to do.
import { failWithError, failWithReasons } from '../../report/outcome.js';
import { definePhase, given } from '../pipeline.js';
import { targetReport } from '../targets.js';
import { drillResult, verdictOf } from '../result.js';

export const settleVerdict = definePhase({
  name: 'verdict',
  needs: [],
  gives: ['verdict'],
  reads: ['judgeCounts'],
  async run(ctx) {
    // The one place the target report is made: from the facts its phases gave (any may be missing).
    const { target, pin, stop } = ctx.facts;
    return { verdict: verdictOf(ctx, targetReport(target, pin, stop && given(stop), ctx.inputs.judgeCounts)) };
  },
});

export const stepStatus = definePhase({
  name: 'step-status',
  needs: [],
  gives: [],
  reads: [],
  async run(ctx) {
    const { core, thrown } = ctx;
    const result = drillResult(ctx);
    if (result.verdict === 'failed') failWithReasons(core, result.reasons, { prefix: 'restore drill failed: ' });
    if (result.verdict !== 'error' || !result.error) return;
    // A usage error keeps its one message (it names the input and the fix).
    if (result.error.kind === 'input') return failWithError(core, thrown ?? result.error.message);
    const { kind, message, fix } = result.error;
    core.setFailed(`restore drill error (${kind}, the backup was not judged): ${message}. What to do: ${fix}.`);
  },
});
