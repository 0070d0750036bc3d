// Slack delivery for the suite's actions through Slack's own clients: @slack/webhook for an
// incoming webhook, @slack/web-api (chat.postMessage, thread_ts) for a bot token. Both retry
// transient failures; the Web API client also waits out rate limits. A Slack outage is a
// warning, never the caller's verdict, so postToSlack never throws; with `errors` (as
// slackapi/slack-github-action's input) it is an error the caller fails the step on. Proxies: Node 24's fetch,
// which both clients use, honours HTTPS_PROXY/NO_PROXY when NODE_USE_ENV_PROXY=1 is set.
import { IncomingWebhook, type IncomingWebhookSendArguments } from '@slack/webhook';
import { LogLevel, WebClient, type Logger } from '@slack/web-api';
import type { Core } from '../core.js';
import { describeError } from '../errors.js';

type Blocks = IncomingWebhookSendArguments['blocks'];

interface SlackTarget {
  webhookUrl?: string;
  token?: string;
  channel?: string;
  /** Reply in this thread (bot token only). */
  threadTs?: string;
  /** Web API base, for tests against a local server (default https://slack.com/api/). */
  apiUrl?: string;
}

export interface SlackMessage {
  text: string;
  blocks?: unknown[];
}

interface SlackResult {
  ok: boolean;
  /** The posted message's ts (bot token), for replies in its thread. */
  ts?: string;
  error?: string;
}

/** Posts one message; built by slackSender, or by a test around clients pointed at a local Slack. */
export interface SlackSender {
  post(message: SlackMessage): Promise<{ ts?: string }>;
}

interface SlackOptions {
  /** Retries after the first attempt (5xx, network errors; rate limits for the Web API). */
  retries?: number;
  timeoutMs?: number;
  /** The first retry's delay, doubling up to 8 s (default 500 ms; a test against a local Slack needs less). */
  retryDelayMs?: number;
}

export function slackConfigured(t: SlackTarget): boolean {
  return !!t.webhookUrl || (!!t.token && !!t.channel);
}

/** Slack's client for the target (secrets masked first), or undefined when none is configured. */
export function slackSender(
  core: Pick<Core, 'setSecret' | 'debug'>,
  target: SlackTarget,
  opts: SlackOptions = {},
): SlackSender | undefined {
  const { retries = 3, timeoutMs = 15_000, retryDelayMs = 500 } = opts;
  if (target.webhookUrl) core.setSecret(target.webhookUrl);
  if (target.token) core.setSecret(target.token);
  const retryConfig = { retries, factor: 2, minTimeout: retryDelayMs, maxTimeout: 8_000 };
  if (target.webhookUrl) {
    const hook = new IncomingWebhook(target.webhookUrl, { timeout: timeoutMs, retryConfig });
    return { post: async (m) => (await hook.send({ text: m.text, blocks: m.blocks as Blocks }), {}) };
  }
  if (!target.token || !target.channel) return undefined;
  const web = new WebClient(target.token, {
    slackApiUrl: target.apiUrl ? target.apiUrl.replace(/\/?$/, '/') : undefined,
    retryConfig,
    timeout: timeoutMs,
    logger: debugLogger(core),
  });
  const { channel, threadTs } = target;
  return {
    post: async (m) => {
      const res = await web.chat.postMessage({
        channel,
        text: m.text,
        blocks: m.blocks as Blocks,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
      return { ts: res.ts };
    },
  };
}

export async function postToSlack(
  core: Pick<Core, 'warning'> & Partial<Pick<Core, 'error'>>,
  sender: SlackSender,
  message: SlackMessage,
  opts: { errors?: boolean } = {},
): Promise<SlackResult> {
  try {
    const { ts } = await sender.post(message);
    return { ok: true, ts };
  } catch (err) {
    const error = describeSlackError(err);
    if (opts.errors && core.error) core.error(`Could not post to Slack (${error}); failing the step (slack-errors).`);
    else core.warning(`Could not post to Slack (${error}); the result is unaffected.`);
    return { ok: false, error };
  }
}

/** The clients' errors carry the HTTP status or the Web API's error code in their own fields. */
function describeSlackError(err: unknown): string {
  const e = err as { code?: string; statusCode?: number; body?: string; data?: { error?: string }; original?: Error };
  if (e?.data?.error) return `Slack API error: ${e.data.error}`;
  if (e?.statusCode) return `Slack answered HTTP ${e.statusCode}${e.body ? `: ${String(e.body).slice(0, 200)}` : ''}`;
  if (e?.original) return `Slack request failed: ${describeError(e.original)}`;
  return `Slack request failed: ${describeError(err)}`;
}

/** The Web API client's own log lines go to the step's debug log, not the runner's output. */
function debugLogger(core: Pick<Core, 'debug'>): Logger {
  let level = LogLevel.INFO;
  const log = (...msg: unknown[]) => core.debug(`slack: ${msg.map(String).join(' ')}`);
  return {
    debug: log,
    info: log,
    warn: log,
    error: log,
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}

/** Slack mrkdwn escaping for user-controlled text. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
