// Slack delivery through Slack's own clients (@slack/webhook, @slack/web-api) against a local
// Slack (test/helpers/slack-server.ts): what is sent, retries, rate limits, threads, masking, and
// that trouble is a warning, never a throw. And the drill's message, as a reader sees it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { notifyDrill, drillSlackMessage } from '../../actions/lib/drill/slack.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { postToSlack, slackSender } from '../../actions/lib/notify/slack.js';
import { recordingCore } from '../helpers/recording-core.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';

const fast = { retries: 2, timeoutMs: 5_000 };

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
      slackSender(core, { webhookUrl: `${slack.url}/hook` }, { retries: 1, timeoutMs: 2_000 })!,
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
  it('names environment, cluster, reasons, RTO/RPO in human units, backup age and the run link', () => {
    const m = drillSlackMessage(failedDrill(), 'production');
    const section = JSON.stringify(m.blocks);
    expect(section).toContain('*Environment*\\nproduction');
    expect(section).toContain('*Cluster*\\nbilling-prod/payments-db');
    expect(section).toContain('*RTO*\\n12m 34s');
    expect(section).toContain('*RPO*\\n1m 35s (3.0 MiB of WAL)');
    expect(section).toContain('*Backup restored*\\n20261130T050000 (26h 5m old)');
    expect(section).toContain(
      '• recovery Job payments-db-drill-77-1-1-full-recovery failed: barman-cloud-restore: \\"Backup 20261130T050000 not found\\"',
    );
    expect(section).toContain('<https://github.com/acme/platform/actions/runs/4242|View the workflow run>');
  });

  it('escapes mrkdwn in names and reasons', () => {
    const r = { ...failedDrill(), reasons: ['table public."Orders<&>" differs'] };
    expect(JSON.stringify(drillSlackMessage(r).blocks)).toContain('public.\\"Orders&lt;&amp;&gt;\\" differs');
  });
});
