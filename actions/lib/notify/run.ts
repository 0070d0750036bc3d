// slack-notify: posts a message with the suite's Slack sender. With no `text`, on a
// workflow_run event it builds the failure alert from the event payload.
import { readFileSync } from 'node:fs';
import type { Core } from '../core.js';
import { Inputs, InputError } from '../inputs.js';
import { messageOf } from '../errors.js';
import { postToSlack, slackConfigured, type SlackMessage, type SlackTarget } from './slack.js';
import { workflowRunFailureMessage, type WorkflowRunEvent } from './workflow-run.js';

export function readTarget(core: Core, inputs: Inputs): SlackTarget {
  const target: SlackTarget = {
    webhookUrl: inputs.optional('webhook-url'),
    token: inputs.optional('bot-token'),
    channel: inputs.optional('channel'),
    apiUrl: inputs.optional('slack-api-url'),
  };
  if (target.webhookUrl) core.setSecret(target.webhookUrl);
  if (target.token) core.setSecret(target.token);
  if (!slackConfigured(target)) throw new InputError('webhook-url', 'give an incoming webhook URL, or bot-token together with channel.');
  if (target.webhookUrl && !/^https?:\/\//.test(target.webhookUrl)) throw new InputError('webhook-url', 'must be an http(s) URL.');
  return target;
}

export function readMessage(inputs: Inputs, env: NodeJS.ProcessEnv): SlackMessage {
  const text = inputs.optional('text');
  const blocksRaw = inputs.optional('blocks');
  let blocks: unknown[] | undefined;
  if (blocksRaw) {
    try {
      blocks = JSON.parse(blocksRaw);
    } catch (err) {
      throw new InputError('blocks', `is not JSON (${messageOf(err)}); pass a Block Kit array.`);
    }
    if (!Array.isArray(blocks)) throw new InputError('blocks', 'must be a JSON array of Block Kit blocks.');
  }
  if (text) return { text, blocks };
  if (env.GITHUB_EVENT_NAME === 'workflow_run' && env.GITHUB_EVENT_PATH) {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as WorkflowRunEvent;
    const msg = workflowRunFailureMessage(event);
    if (msg) return msg;
  }
  throw new InputError('text', 'is required unless the workflow runs on a workflow_run event.');
}

export async function run(core: Core, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const inputs = new Inputs(core);
    const target = readTarget(core, inputs);
    const message = readMessage(inputs, env);
    const failOnError = inputs.boolean('fail-on-error', false);
    const result = await postToSlack(core, target, message);
    core.setOutput('posted', String(result.ok));
    if (result.ok) core.info(`Posted to Slack after ${result.attempts} attempt(s).`);
    else if (failOnError) core.setFailed(result.error ?? 'Slack post failed');
  } catch (err) {
    core.setFailed(messageOf(err));
  }
}
