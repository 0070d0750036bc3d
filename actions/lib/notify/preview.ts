// `slack-preview`: the exact payload, checked against Block Kit's documented limits, as Markdown
// for the job summary (or a CLI's output) instead of a post. Limits, from Slack's Block Kit
// reference (blocks): at most 50 blocks a message; header text plain_text up to 150 characters;
// section text up to 3000, fields up to 10 of up to 2000 each; context up to 10 elements;
// block_id up to 255.
import type { SlackMessage } from './slack.js';

interface TextObject {
  type?: string;
  text?: string;
}
interface Block {
  type?: string;
  block_id?: string;
  text?: TextObject;
  fields?: TextObject[];
  elements?: unknown[];
}

const MAX_BLOCKS = 50;

/** Every way the payload breaks Block Kit's limits; empty when Slack would accept it. */
export function blockKitProblems(message: SlackMessage): string[] {
  const blocks = (message.blocks ?? []) as Block[];
  const problems: string[] = [];
  if (!message.text?.trim()) problems.push('text (the notification fallback) is empty');
  if (blocks.length > MAX_BLOCKS) problems.push(`${blocks.length} blocks (at most ${MAX_BLOCKS})`);
  blocks.forEach((b, i) => problems.push(...blockProblems(b).map((p) => `blocks[${i}] (${b.type}): ${p}`)));
  return problems;
}

function blockProblems(b: Block): string[] {
  const out: string[] = [];
  const len = (t: TextObject | undefined) => t?.text?.length ?? 0;
  if (b.block_id && b.block_id.length > 255) out.push('block_id longer than 255 characters');
  if (b.type === 'header') {
    if (b.text?.type !== 'plain_text') out.push('header text must be plain_text');
    if (len(b.text) > 150) out.push(`header text has ${len(b.text)} characters (at most 150)`);
  } else if (b.type === 'section') {
    if (!b.text && !b.fields?.length) out.push('a section needs text or fields');
    if (len(b.text) > 3000) out.push(`text has ${len(b.text)} characters (at most 3000)`);
    if ((b.fields?.length ?? 0) > 10) out.push(`${b.fields!.length} fields (at most 10)`);
    b.fields?.forEach((f, i) => len(f) > 2000 && out.push(`fields[${i}] has ${len(f)} characters (at most 2000)`));
  } else if (b.type === 'context') {
    const n = b.elements?.length ?? 0;
    if (n < 1 || n > 10) out.push(`${n} elements (1 to 10)`);
  } else if (b.type !== 'divider') out.push(`block type '${b.type}' is not one the suite sends`);
  return out;
}

/** Markdown for the job summary: what would be sent, and whether Slack would accept it. */
export function slackPreviewMarkdown(message: SlackMessage, note?: string): string {
  const problems = blockKitProblems(message);
  const verdict = problems.length
    ? `**Outside Block Kit's limits:**\n${problems.map((p) => `- ${p}`).join('\n')}`
    : 'Within Block Kit limits (checked: block count, header, section and field lengths, context elements).';
  const payload = JSON.stringify({ text: message.text, blocks: message.blocks }, null, 2);
  return [
    '### Slack message (preview, not sent)',
    '',
    ...(note ? [note, ''] : []),
    verdict,
    '',
    'Paste the blocks into Slack’s Block Kit Builder to see them rendered.',
    '',
    '```json',
    payload,
    '```',
    '',
  ].join('\n');
}
