// Final: tells Slack (slack.ts), per the slack-on input; not after a cancellation.
import { definePhase } from '../pipeline.js';
import { notifyDrill } from '../slack.js';
import { drillResult } from '../result.js';

export const notify = definePhase({
  name: 'notify',
  needs: [],
  gives: ['slackNotes'],
  reads: ['slack'],
  when: ({ signal }) => !signal.aborted || 'cancelled',
  async run(ctx) {
    // notifyDrill notes a Slack failure in the result it is given: that note is this phase's finding.
    const result = drillResult(ctx);
    const before = result.notes.length;
    await notifyDrill(ctx.core, ctx.inputs.slack, result);
    return { slackNotes: result.notes.slice(before) };
  },
});
