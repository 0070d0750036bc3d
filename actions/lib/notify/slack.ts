// Slack delivery for every action and workflow of the suite: an incoming webhook or a bot
// token (chat.postMessage). Retries 429/5xx honouring Retry-After. A Slack outage is a
// warning, never the caller's verdict, so this never throws.
import type { Core } from '../core.js';
import { sleep } from '../kube/retry.js';

export interface SlackTarget {
  webhookUrl?: string;
  token?: string;
  channel?: string;
  /** Web API base, for tests against a local server (default https://slack.com/api). */
  apiUrl?: string;
}

export interface SlackMessage {
  text: string;
  blocks?: unknown[];
}

export interface SlackResult {
  ok: boolean;
  attempts: number;
  error?: string;
}

export interface SlackOptions {
  attempts?: number;
  fetch?: typeof fetch;
  maxRetryAfterMs?: number;
  timeoutMs?: number;
}

export function slackConfigured(t: SlackTarget): boolean {
  return !!t.webhookUrl || (!!t.token && !!t.channel);
}

export async function postToSlack(
  core: Pick<Core, 'setSecret' | 'warning' | 'info'>,
  target: SlackTarget,
  message: SlackMessage,
  opts: SlackOptions = {},
): Promise<SlackResult> {
  const { attempts = 4, fetch: doFetch = fetch, maxRetryAfterMs = 30_000, timeoutMs = 15_000 } = opts;
  if (target.webhookUrl) core.setSecret(target.webhookUrl);
  if (target.token) core.setSecret(target.token);
  if (!slackConfigured(target)) return { ok: false, attempts: 0, error: 'Slack is not configured' };

  const url = target.webhookUrl ?? `${(target.apiUrl ?? 'https://slack.com/api').replace(/\/$/, '')}/chat.postMessage`;
  const body = target.webhookUrl ? message : { channel: target.channel, ...message };
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (!target.webhookUrl) headers.authorization = `Bearer ${target.token}`;

  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let retryAfter: number | undefined;
    try {
      const res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      if (res.ok) {
        // The Web API answers 200 with {"ok":false,"error":...} for application errors.
        const parsed = target.webhookUrl ? undefined : safeParse(text);
        if (!parsed || parsed.ok !== false) return { ok: true, attempts: attempt };
        lastError = `Slack API error: ${parsed.error ?? 'unknown'}`;
        if (parsed.error !== 'ratelimited') break;
      } else {
        lastError = `Slack answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
        if (res.status !== 429 && res.status < 500) break;
      }
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra >= 0) retryAfter = Math.min(ra * 1000, maxRetryAfterMs);
    } catch (err) {
      lastError = `Slack request failed: ${(err as Error).message}`;
    }
    if (attempt < attempts) await sleep(retryAfter ?? 500 * 2 ** (attempt - 1));
  }
  core.warning(`Could not post to Slack (${lastError}); the result is unaffected.`);
  return { ok: false, attempts, error: lastError };
}

function safeParse(text: string): { ok?: boolean; error?: string } | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Slack mrkdwn escaping for user-controlled text. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Link to the current workflow run from the runner's environment. */
export function runUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
  if (!GITHUB_SERVER_URL || !GITHUB_REPOSITORY || !GITHUB_RUN_ID) return undefined;
  return `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`;
}
