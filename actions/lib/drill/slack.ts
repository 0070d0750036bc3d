// The drill's Slack message (Block Kit): verdict, cluster/namespace, reasons, RTO/RPO, run link.
// Sent through notify/slack.ts, which retries and never throws: Slack trouble is a warning.
import type { Core } from '../core.js';
import { postToSlack, slackConfigured, slackEscape, type SlackMessage } from '../notify/slack.js';
import type { DrillInputs } from './inputs.js';
import type { DrillResult } from './result.js';

export function drillSlackMessage(r: DrillResult): SlackMessage {
  const passed = r.verdict === 'passed';
  const title = `${passed ? ':white_check_mark:' : ':x:'} Restore drill ${r.verdict} for ${r.namespace}/${r.cluster}`;
  const fields = [
    `*Cluster*\n${slackEscape(`${r.namespace}/${r.cluster}`)}`,
    `*Backup*\n${slackEscape(r.backupId ?? 'n/a')}`,
    `*RTO*\n${r.rtoSeconds !== undefined ? `${r.rtoSeconds} s` : 'n/a'}`,
    `*RPO*\n${r.rpo?.seconds !== undefined ? `${r.rpo.seconds} s` : 'n/a'}`,
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.replace(/:[a-z_]+: /, '').slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: title }, fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (r.reasons.length) {
    const list = r.reasons.slice(0, 10).map((x) => `• ${slackEscape(x)}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reasons*\n${list}`.slice(0, 3000) } });
  }
  if (r.runUrl) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${r.runUrl}|View the workflow run>` }] });
  const text = `${title}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''}`.slice(0, 3000);
  return { text, blocks };
}

export function shouldNotify(on: DrillInputs['slack']['on'], verdict: DrillResult['verdict']): boolean {
  return on === 'always' || (on === 'failure' && verdict === 'failed');
}

export async function notifyDrill(core: Pick<Core, 'setSecret' | 'warning' | 'info'>, slack: DrillInputs['slack'], r: DrillResult, fetchImpl?: typeof fetch): Promise<void> {
  const target = { webhookUrl: slack.webhookUrl, token: slack.token, channel: slack.channel, apiUrl: slack.apiUrl };
  if (!slackConfigured(target) || !shouldNotify(slack.on, r.verdict)) return;
  const res = await postToSlack(core, target, drillSlackMessage(r), fetchImpl ? { fetch: fetchImpl } : {});
  if (res.ok) core.info('Posted the drill result to Slack.');
  else r.notes.push(`Slack notification failed: ${res.error}`);
}
