// One Slack message style for every alert of the suite (the drill, workflows/notify-failure.yml):
// the title once (a header), the reason first, then what to do, then the facts and the run link.
// Pure functions: the drill sends the result, `slack-preview` and a CLI print it instead.
import type { SlackMessage } from './slack.js';
import { slackEscape } from './slack.js';

export type AlertOutcome = 'passed' | 'failed' | 'error';

export interface Alert {
  outcome: AlertOutcome;
  /** Plain text, e.g. "Restore drill failed: staging · databases/pg-main". */
  title: string;
  /** Why: the verdict's reasons or the error's message (plain text, escaped here). */
  reasons?: string[];
  /** What to do next (plain text). */
  fix?: string;
  /** Label and plain-text value pairs shown as two columns. */
  fields?: [string, string][];
  runUrl?: string;
  /** Slack mention markup (`<!subteam^ID>`, `<@U…>`, `<!here>`), placed only on failure and error. */
  mention?: string;
}

const EMOJI: Record<AlertOutcome, string> = { passed: ':white_check_mark:', failed: ':x:', error: ':warning:' };
const MAX_REASONS = 10;

/** The message as Slack receives it: a text fallback (notifications, old clients) and Block Kit blocks. */
export function renderAlert(a: Alert): SlackMessage {
  const mention = a.outcome !== 'passed' && a.mention ? `${a.mention} ` : '';
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${EMOJI[a.outcome]} ${a.title}`, 150), emoji: true } },
  ];
  const reasons = a.reasons ?? [];
  if (reasons.length || mention) blocks.push(mrkdwnSection(`${mention}*Why*\n${reasonList(reasons)}`.trim(), 3000));
  if (a.fix) blocks.push(mrkdwnSection(`*What to do*\n${slackEscape(a.fix)}`, 3000));
  if (a.fields?.length)
    blocks.push({
      type: 'section',
      fields: a.fields
        .slice(0, 10)
        .map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${slackEscape(v)}`, 2000) })),
    });
  if (a.runUrl)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${a.runUrl}|View the workflow run>` }] });
  const why = reasons.length ? `: ${reasons.join('; ')}` : '';
  const text = clip(`${mention}${EMOJI[a.outcome]} ${a.title}${why}${a.fix ? ` — ${a.fix}` : ''}`, 3000);
  return { text, blocks };
}

function reasonList(reasons: string[]): string {
  const shown = reasons.slice(0, MAX_REASONS).map((r) => `• ${slackEscape(r)}`);
  if (reasons.length > MAX_REASONS) shown.push(`• … and ${reasons.length - MAX_REASONS} more (see the run)`);
  return shown.join('\n');
}

function mrkdwnSection(text: string, max: number): unknown {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, max) } };
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
