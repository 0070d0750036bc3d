// The failure alert for a `workflow_run` listener (seeds: notify-failure.yml): which workflow
// failed, the run, the branch and the commit, as Block Kit with a text fallback.
import { slackEscape, type SlackMessage } from './slack.js';

export interface WorkflowRunEvent {
  workflow_run?: {
    name?: string;
    html_url?: string;
    conclusion?: string;
    head_branch?: string;
    head_sha?: string;
    run_attempt?: number;
    event?: string;
    head_commit?: { message?: string; author?: { name?: string } };
    repository?: { full_name?: string; html_url?: string };
  };
  repository?: { full_name?: string; html_url?: string };
}

export function workflowRunFailureMessage(event: WorkflowRunEvent): SlackMessage | undefined {
  const run = event.workflow_run;
  if (!run) return undefined;
  const repo = run.repository ?? event.repository;
  const sha = (run.head_sha ?? '').slice(0, 7);
  const commitUrl = repo?.html_url && run.head_sha ? `${repo.html_url}/commit/${run.head_sha}` : undefined;
  const subject = (run.head_commit?.message ?? '').split('\n')[0];
  const name = slackEscape(run.name ?? 'workflow');
  const runLink = run.html_url ? `<${run.html_url}|${name}>` : name;
  const commitLink = commitUrl ? `<${commitUrl}|${sha}>` : sha;
  const conclusion = run.conclusion ?? 'failure';
  const text = `:x: ${run.name ?? 'workflow'} ${conclusion} on ${run.head_branch ?? '?'} for ${sha}: ${subject}`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `:x: *${runLink}* ${slackEscape(conclusion)} on \`${slackEscape(run.head_branch ?? '?')}\` for ${commitLink}` },
      },
      ...(subject ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(subject) + (run.head_commit?.author?.name ? ` — ${slackEscape(run.head_commit.author.name)}` : '') }] }] : []),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${slackEscape(repo?.full_name ?? '')} · trigger ${slackEscape(run.event ?? '?')} · attempt ${run.run_attempt ?? 1}` }],
      },
    ],
  };
}
