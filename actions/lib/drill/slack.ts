// The drill's Slack message (Block Kit): verdict, environment/context, cluster, reasons, RTO/RPO
// and backup age in human units, run link. Sent through Slack's own clients (notify/slack.ts);
// Slack trouble is a note and a warning, never the verdict.
import type { Core } from '../core.js';
import {
  postToSlack,
  slackConfigured,
  slackEscape,
  slackSender,
  type SlackMessage,
  type SlackSender,
} from '../notify/slack.js';
import { formatBytes, formatDuration } from '../report/format.js';
import type { DrillInputs } from './inputs.js';
import { FAILED_FIX } from './report.js';
import type { DrillResult } from './result.js';

const EMOJI = { passed: ':white_check_mark:', failed: ':x:', error: ':warning:' } as const;

const seconds = (s: number | undefined) => (s === undefined ? 'n/a' : formatDuration(s * 1000));

function backupLine(r: DrillResult): string {
  const id = r.backupId ?? r.inventory?.newest?.backupId ?? r.inventory?.newest?.name;
  if (!id) return 'n/a';
  const age = r.inventory?.newestAgeMs;
  return `${id}${age !== undefined ? ` (${formatDuration(age)} old)` : ''}`;
}

/** `environment` names where the drill ran (an input, else the kubeconfig context). */
export function drillSlackMessage(r: DrillResult, environment?: string): SlackMessage {
  const where = `${environment ? `${environment} · ` : ''}${r.namespace}/${r.cluster}`;
  const title = `${EMOJI[r.verdict]} Restore drill ${r.verdict}: ${where}`;
  const rpo =
    r.rpo?.seconds !== undefined
      ? `${seconds(r.rpo.seconds)}${r.rpo.bytes !== undefined ? ` (${formatBytes(r.rpo.bytes)} of WAL)` : ''}`
      : 'n/a';
  const fields = [
    `*Environment*\n${slackEscape(environment ?? 'n/a')}`,
    `*Cluster*\n${slackEscape(`${r.namespace}/${r.cluster}`)}`,
    `*RTO*\n${seconds(r.rtoSeconds)}`,
    `*RPO*\n${rpo}`,
    `*Backup restored*\n${slackEscape(backupLine(r))}`,
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.replace(/:[a-z_]+: /, '').slice(0, 150), emoji: true } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: slackEscape(title) },
      fields: fields.map((text) => ({ type: 'mrkdwn', text })),
    },
  ];
  if (r.error) {
    const e = r.error;
    const text = `*The drill could not judge the backup (${e.kind})*: not a failed backup.\n*What happened*\n${slackEscape(e.message)}\n*What to do*\n${slackEscape(e.fix)}`;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } });
  }
  if (r.reasons.length) {
    const list = r.reasons
      .slice(0, 10)
      .map((x) => `• ${slackEscape(x)}`)
      .join('\n');
    const todo = r.verdict === 'failed' ? `\n*What to do*\n${slackEscape(FAILED_FIX)}` : '';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reasons*\n${list}${todo}`.slice(0, 3000) } });
  }
  if (r.runUrl)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${r.runUrl}|View the workflow run>` }] });
  const said = r.error ? [`${r.error.message}. What to do: ${r.error.fix}`, ...r.reasons] : r.reasons;
  const text = `${title}${said.length ? `: ${said.join('; ')}` : ''}`.slice(0, 3000);
  return { text, blocks };
}

export function shouldNotify(on: DrillInputs['slack']['on'], verdict: DrillResult['verdict']): boolean {
  // 'failure' means any outcome that is not a pass: a drill that could not judge is as silent a risk.
  return on === 'always' || (on === 'failure' && verdict !== 'passed');
}

/** Posts when configured and wanted; `sender` lets tests pass clients pointed at a local Slack. */
export async function notifyDrill(
  core: Pick<Core, 'setSecret' | 'warning' | 'info' | 'debug' | 'setOutput'>,
  slack: DrillInputs['slack'],
  r: DrillResult,
  sender?: SlackSender,
): Promise<void> {
  if (!slackConfigured(slack) || !shouldNotify(slack.on, r.verdict)) return;
  const client = sender ?? slackSender(core, slack);
  if (!client) return;
  const res = await postToSlack(core, client, drillSlackMessage(r, slack.environment));
  if (res.ok) core.info('Posted the drill result to Slack.');
  else r.notes.push(`Slack notification failed: ${res.error}`);
  if (res.ts) core.setOutput('slack-ts', res.ts);
}
