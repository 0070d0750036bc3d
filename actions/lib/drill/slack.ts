// The drill's Slack message in the suite's one style (notify/message.ts): the verdict and where
// as the title, the reasons first, then what to do, then RTO/RPO and the backup in human units,
// and the run link. Sent through Slack's own clients (notify/slack.ts), or with `slack-preview`
// written to the job summary instead. Slack trouble is a note and a warning, never the verdict,
// unless `slack-errors` asks for the step to fail.
import type { Core } from '../core.js';
import { renderAlert, type Alert } from '../notify/message.js';
import { slackPreviewMarkdown } from '../notify/preview.js';
import { postToSlack, slackConfigured, slackSender, type SlackMessage, type SlackSender } from '../notify/slack.js';
import { writeSummary } from '../report/outcome.js';
import { formatBytes, formatDuration } from '../report/format.js';
import type { DrillInputs } from './inputs.js';
import { FAILED_FIX } from './report.js';
import type { DrillResult } from './result.js';

const seconds = (s: number | undefined) => (s === undefined ? 'n/a' : formatDuration(s * 1000));

function backupLine(r: DrillResult): string {
  const id = r.backupId ?? r.inventory?.newest?.backupId ?? r.inventory?.newest?.name;
  if (!id) return 'n/a';
  const age = r.inventory?.newestAgeMs;
  return `${id}${age !== undefined ? ` (${formatDuration(age)} old)` : ''}`;
}

function rpoLine(r: DrillResult): string {
  if (r.rpo?.seconds === undefined) return 'n/a';
  return `${seconds(r.rpo.seconds)}${r.rpo.bytes !== undefined ? ` (${formatBytes(r.rpo.bytes)} of WAL)` : ''}`;
}

/** The alert for a result: `environment` names where the drill ran; `mention` goes on failure and error only. */
export function drillAlert(r: DrillResult, opts: { environment?: string; mention?: string }): Alert {
  const where = `${opts.environment ? `${opts.environment} · ` : ''}${r.namespace}/${r.cluster}`;
  const errorReasons = r.error ? [r.error.message] : [];
  return {
    outcome: r.verdict,
    title: `Restore drill ${r.verdict}: ${where}`,
    reasons: r.reasons.length ? r.reasons : errorReasons,
    fix: r.verdict === 'error' ? r.error?.fix : r.verdict === 'failed' ? FAILED_FIX : undefined,
    fields: [
      ['RTO', seconds(r.rtoSeconds)],
      ['RPO', rpoLine(r)],
      ['Backup restored', backupLine(r)],
      ...(r.error ? [['Outcome', `the drill could not judge the backup (${r.error.kind}): not a failed backup`]] : []),
    ] as [string, string][],
    runUrl: r.runUrl,
    mention: opts.mention,
  };
}

/** The exact payload the drill sends (and a CLI's --print-slack prints). */
export function drillSlackMessage(r: DrillResult, environment?: string, mention?: string): SlackMessage {
  return renderAlert(drillAlert(r, { environment, mention }));
}

export function shouldNotify(on: DrillInputs['slack']['on'], verdict: DrillResult['verdict']): boolean {
  return on === 'always' || (on === 'failure' && verdict !== 'passed');
}

type NotifyCore = Pick<
  Core,
  'setSecret' | 'warning' | 'error' | 'info' | 'debug' | 'setOutput' | 'setFailed' | 'summary'
>;

/** Posts when configured and wanted (or previews); `sender` lets tests pass clients pointed at a local Slack. */
export async function notifyDrill(
  core: NotifyCore,
  slack: DrillInputs['slack'],
  r: DrillResult,
  sender?: SlackSender,
): Promise<void> {
  const message = drillSlackMessage(r, slack.environment, slack.mention);
  if (slack.preview) return previewDrill(core, slack, r, message);
  if (!slackConfigured(slack) || !shouldNotify(slack.on, r.verdict)) return;
  const client = sender ?? slackSender(core, slack);
  if (!client) return;
  const res = await postToSlack(core, client, message, { errors: slack.errors });
  if (res.ok) core.info('Posted the drill result to Slack.');
  else {
    r.notes.push(`Slack notification failed: ${res.error}`);
    if (slack.errors) core.setFailed(`Slack notification failed (slack-errors: true): ${res.error}`);
  }
  if (res.ts) core.setOutput('slack-ts', res.ts);
}

async function previewDrill(
  core: NotifyCore,
  slack: DrillInputs['slack'],
  r: DrillResult,
  message: SlackMessage,
): Promise<void> {
  const wouldSend = slackConfigured(slack) && shouldNotify(slack.on, r.verdict);
  const note = wouldSend
    ? 'slack-preview: true: this message was not sent.'
    : `slack-preview: true; without the preview it would not be sent either (${
        slackConfigured(slack) ? `slack-on: ${slack.on}, verdict ${r.verdict}` : 'no Slack webhook or bot token'
      }).`;
  core.info('slack-preview: the Slack message is in the job summary, not sent.');
  await writeSummary(core, slackPreviewMarkdown(message, note));
}
