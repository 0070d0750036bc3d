// Slack delivery through Slack's own clients (@slack/webhook, @slack/web-api) against a local
// Slack (test/helpers/slack-server.ts): what is sent, retries, rate limits, threads, masking, and
// that trouble is a warning, never a throw. And the drill's message, as a reader sees it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-action.js';
import { notifyDrill, drillSlackMessage, shouldNotify } from '../../actions/lib/drill/slack.js';
import { blockKitProblems, slackPreviewMarkdown } from '../../actions/lib/notify/preview.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { postToSlack, slackSender } from '../../actions/lib/notify/slack.js';
import { recordingCore } from '../helpers/recording-core.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';

// Retries 50 ms apart (the product's first is 500 ms): the tests prove that a retry happens, not its delay.
const fast = { retries: 2, timeoutMs: 5_000, retryDelayMs: 50 };

describe('Slack clients against a local Slack', () => {
  let slack: SlackServer;
  beforeEach(async () => (slack = await startSlackServer()));
  afterEach(() => slack.close());

  it('posts to an incoming webhook with @slack/webhook and masks its URL', async () => {
    const { core, rec } = recordingCore();
    const url = `${slack.url}/services/T0001/B0002/XXXXsecretXXXX`;
    const sender = slackSender(core, { webhookUrl: url }, fast)!;
    expect(
      await postToSlack(core, sender, {
        text: 'hello',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
      }),
    ).toEqual({ ok: true, ts: undefined });
    expect(rec.secrets).toContain(url);
    expect(slack.calls[0].path).toBe('/services/T0001/B0002/XXXXsecretXXXX');
    expect(slack.calls[0].headers['user-agent']).toMatch(/@slack:webhook/);
    expect(slack.calls[0].body).toEqual({
      text: 'hello',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
    });
  });

  it('retries a webhook 5xx, then succeeds', async () => {
    slack.script = [{ status: 503 }, { status: 200, body: 'ok' }];
    const { core } = recordingCore();
    const r = await postToSlack(core, slackSender(core, { webhookUrl: `${slack.url}/hook` }, fast)!, { text: 'x' });
    expect(r.ok).toBe(true);
    expect(slack.calls).toHaveLength(2);
  });

  it('does not retry a webhook 4xx and warns, never throwing', async () => {
    slack.script = [{ status: 404, body: 'no_service' }];
    const { core, rec } = recordingCore();
    const r = await postToSlack(core, slackSender(core, { webhookUrl: `${slack.url}/hook` }, fast)!, { text: 'x' });
    expect(r).toEqual({ ok: false, error: 'Slack answered HTTP 404: no_service' });
    expect(slack.calls).toHaveLength(1);
    expect(rec.logs.find((l) => l.level === 'warning')?.message).toBe(
      'Could not post to Slack (Slack answered HTTP 404: no_service); the result is unaffected.',
    );
  });

  it('posts with a bot token through chat.postMessage in a thread, returning the ts', async () => {
    slack.script = [
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ok: true, channel: 'C0123456789', ts: '1764540000.000200' }),
      },
    ];
    const { core, rec } = recordingCore();
    const sender = slackSender(
      core,
      { token: 'xoxb-1111-2222-secret', channel: 'C0123456789', threadTs: '1764539000.000100', apiUrl: slack.url },
      fast,
    )!;
    const r = await postToSlack(core, sender, { text: 'drill failed', blocks: [{ type: 'divider' }] });
    expect(r).toEqual({ ok: true, ts: '1764540000.000200' });
    expect(slack.calls[0].path).toBe('/chat.postMessage');
    expect(slack.calls[0].headers.authorization).toBe('Bearer xoxb-1111-2222-secret');
    expect(slack.calls[0].body).toMatchObject({
      channel: 'C0123456789',
      text: 'drill failed',
      thread_ts: '1764539000.000100',
      blocks: [{ type: 'divider' }],
    });
    expect(rec.secrets).toContain('xoxb-1111-2222-secret');
  });

  it('waits out a Web API rate limit (429 Retry-After), then posts', async () => {
    slack.script = [
      {
        status: 429,
        headers: { 'retry-after': '1', 'content-type': 'application/json' },
        body: JSON.stringify({ ok: false, error: 'ratelimited' }),
      },
      { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true, ts: '1.2' }) },
    ];
    const { core } = recordingCore();
    const started = Date.now();
    const r = await postToSlack(core, slackSender(core, { token: 'xoxb-t', channel: 'C1', apiUrl: slack.url }, fast)!, {
      text: 'x',
    });
    expect(r).toEqual({ ok: true, ts: '1.2' });
    expect(slack.calls).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('reports a Web API error code (ok:false) as a warning', async () => {
    slack.script = [
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ok: false, error: 'channel_not_found' }),
      },
    ];
    const { core, rec } = recordingCore();
    const r = await postToSlack(
      core,
      slackSender(core, { token: 'xoxb-t', channel: 'C404', apiUrl: slack.url }, fast)!,
      { text: 'x' },
    );
    expect(r).toEqual({ ok: false, error: 'Slack API error: channel_not_found' });
    expect(rec.logs.some((l) => l.level === 'warning' && l.message.includes('channel_not_found'))).toBe(true);
  });

  it('gives up when Slack is down, with a warning', async () => {
    await slack.close();
    const { core, rec } = recordingCore();
    const r = await postToSlack(
      core,
      slackSender(core, { webhookUrl: `${slack.url}/hook` }, { ...fast, retries: 1, timeoutMs: 2_000 })!,
      { text: 'x' },
    );
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^Slack request failed: /);
    expect(rec.logs.some((l) => l.level === 'warning')).toBe(true);
    slack = await startSlackServer();
  });

  it('notifyDrill posts the failed drill with the bot token and outputs the message ts', async () => {
    slack.script = [
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ok: true, ts: '1764540000.000300' }),
      },
    ];
    const { core, rec } = recordingCore();
    const r = failedDrill();
    const target = {
      token: 'xoxb-drill',
      channel: 'C0DRILLS',
      apiUrl: slack.url,
      environment: 'production',
      on: 'failure' as const,
      preview: false,
      errors: false,
    };
    await notifyDrill(core, target, r, slackSender(core, target, fast));
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0].body.text).toMatch(
      /^:x: Restore drill failed: production · billing-prod\/payments-db: recovery Job payments-db-drill-77-1-1-full-recovery failed/,
    );
    expect(rec.outputs['slack-ts']).toBe('1764540000.000300');
    expect(r.notes).toEqual([]);
  });
});

function failedDrill(): DrillResult {
  return {
    verdict: 'failed',
    reasons: [
      'recovery Job payments-db-drill-77-1-1-full-recovery failed: barman-cloud-restore: "Backup 20261130T050000 not found"',
    ],
    cluster: 'payments-db',
    namespace: 'billing-prod',
    backupId: '20261130T050000',
    inventory: { backups: [], newestAgeMs: 26 * 3_600_000 + 5 * 60_000, archiving: { failing: false }, problems: [] },
    phases: [],
    rtoSeconds: 754,
    rpo: { seconds: 95, bytes: 3 * 1024 * 1024, explanation: '' },
    tolerance: { tolerance: 0.1, floor: 10 },
    databases: [],
    verifications: [],
    notes: [],
    runUrl: 'https://github.com/acme/platform/actions/runs/4242',
    startedAt: '2026-11-30T06:00:00Z',
  };
}

describe('the drill message', () => {
  it('title once (the header), reasons first, then what to do, then RTO/RPO in human units, backup age and the run link', () => {
    const m = drillSlackMessage(failedDrill(), 'production');
    const blocks = m.blocks as { type: string; text?: { text: string }; fields?: { text: string }[] }[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section', 'context']);
    expect(blocks[0].text!.text).toBe(':x: Restore drill failed: production · billing-prod/payments-db');
    const all = JSON.stringify(blocks);
    expect(all.split('Restore drill failed')).toHaveLength(2); // the title once
    expect(blocks[1].text!.text).toBe(
      '*Why*\n• recovery Job payments-db-drill-77-1-1-full-recovery failed: barman-cloud-restore: "Backup 20261130T050000 not found"',
    );
    expect(blocks[2].text!.text).toMatch(/^\*What to do\*\nthe backup or the restore is at fault, not the drill: /);
    expect(blocks[3].fields!.map((f) => f.text)).toEqual([
      '*RTO*\n12m 34s',
      '*RPO*\n1m 35s (3.0 MiB of WAL)',
      '*Backup restored*\n20261130T050000 (26h 5m old)',
    ]);
    expect(all).toContain('<https://github.com/acme/platform/actions/runs/4242|View the workflow run>');
    expect(blockKitProblems(m)).toEqual([]);
  });

  it('escapes mrkdwn in names and reasons', () => {
    const r = { ...failedDrill(), reasons: ['table public."Orders<&>" differs'] };
    expect(JSON.stringify(drillSlackMessage(r).blocks)).toContain('public.\\"Orders&lt;&amp;&gt;\\" differs');
  });

  it('an error verdict (the drill could not judge) leads with its message and says the fix', () => {
    const r = {
      ...failedDrill(),
      verdict: 'error' as const,
      reasons: [],
      error: {
        kind: 'unauthorized' as const,
        message: 'the Kubernetes API answered 401 Unauthorized',
        fix: 'Renew the KUBECONFIG secret.',
      },
    };
    const blocks = drillSlackMessage(r, 'staging', '<!subteam^S0ONCALL>').blocks as { text?: { text: string } }[];
    expect(blocks[0].text!.text).toBe(':warning: Restore drill error: staging · billing-prod/payments-db');
    expect(blocks[1].text!.text).toBe('<!subteam^S0ONCALL> *Why*\n• the Kubernetes API answered 401 Unauthorized');
    expect(blocks[2].text!.text).toBe('*What to do*\nRenew the KUBECONFIG secret.');
    expect(shouldNotify('failure', 'error')).toBe(true);
  });

  it('mentions on-call on failure and error only, never on a pass', () => {
    const failed = drillSlackMessage(failedDrill(), 'production', '<!subteam^S0ONCALL>');
    expect(failed.text.startsWith('<!subteam^S0ONCALL> :x: Restore drill failed')).toBe(true);
    const passed = drillSlackMessage({ ...failedDrill(), verdict: 'passed', reasons: [] }, 'production', '<!here>');
    expect(JSON.stringify(passed)).not.toContain('<!here>');
    expect((passed.blocks as { type: string }[]).map((b) => b.type)).toEqual(['header', 'section', 'context']);
  });
});

describe('slack-preview and slack-errors', () => {
  const slackInputs = (extra: Record<string, unknown>) => ({
    webhookUrl: 'https://hooks.slack.invalid/services/T/B/x',
    on: 'failure' as const,
    preview: false,
    errors: false,
    environment: 'production',
    ...extra,
  });

  it('slack-preview writes the exact payload into the job summary, checked against Block Kit limits, and sends nothing', async () => {
    const { core, rec } = recordingCore();
    const sent: unknown[] = [];
    const sender = { post: async (m: unknown) => (sent.push(m), {}) };
    await notifyDrill(core, slackInputs({ preview: true, mention: '<!here>' }), failedDrill(), sender);
    expect(sent).toEqual([]);
    expect(rec.summary).toContain('### Slack message (preview, not sent)');
    expect(rec.summary).toContain('Within Block Kit limits');
    const json = /```json\n([\s\S]*?)\n```/.exec(rec.summary)![1];
    expect(JSON.parse(json)).toEqual(drillSlackMessage(failedDrill(), 'production', '<!here>'));
  });

  it('README.md shows the preview exactly as the drill renders it', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const example = /<!-- slack-preview-example -->\n([\s\S]*?)\n<!-- \/slack-preview-example -->/.exec(readme)![1];
    const rendered = slackPreviewMarkdown(
      drillSlackMessage(failedDrill(), 'production', '<!subteam^S0ONCALL>'),
      'slack-preview: true: this message was not sent.',
    ).replace('### Slack message', '#### Slack message');
    expect(example).toBe(rendered.trimEnd());
  });

  it('Block Kit limits: a header over 150 characters, 11 fields, 51 blocks and an empty text are each named', () => {
    const long = { type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } };
    const fields = { type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) };
    const filler = Array.from({ length: 49 }, () => ({ type: 'divider' }));
    expect(blockKitProblems({ text: '', blocks: [long, fields, ...filler] })).toEqual([
      'text (the notification fallback) is empty',
      '51 blocks (at most 50)',
      'blocks[0] (header): header text has 151 characters (at most 150)',
      'blocks[1] (section): 11 fields (at most 10)',
    ]);
    expect(slackPreviewMarkdown({ text: '', blocks: [long] })).toContain("**Outside Block Kit's limits:**");
  });

  it('slack-errors: a Slack failure fails the step; by default it is a warning and a note', async () => {
    const broken = {
      post: async () => {
        throw Object.assign(new Error('no'), { statusCode: 404, body: 'no_service' });
      },
    };
    const strict = recordingCore();
    await notifyDrill(strict.core, slackInputs({ errors: true }), failedDrill(), broken);
    expect(strict.rec.failed).toBe(
      'Slack notification failed (slack-errors: true): Slack answered HTTP 404: no_service',
    );
    const lenient = recordingCore();
    const r = failedDrill();
    await notifyDrill(lenient.core, slackInputs({}), r, broken);
    expect(lenient.rec.failed).toBeUndefined();
    expect(lenient.rec.logs.some((l) => l.level === 'warning')).toBe(true);
    expect(r.notes).toEqual(['Slack notification failed: Slack answered HTTP 404: no_service']);
  });
});
