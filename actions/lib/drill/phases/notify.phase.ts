// Final: tells Slack (slack.ts), per the slack-on input; not after a cancellation.
import { definePhase } from '../pipeline.js';
import { notifyDrill } from '../slack.js';

export const notify = definePhase({
  name: 'notify',
  needs: [],
  gives: [],
  when: ({ signal }) => !signal.aborted || 'cancelled',
  async run({ core, inputs, result }) {
    await notifyDrill(core, inputs.slack, result);
  },
});
