import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postToSlack } from '../../actions/lib/notify/slack.js';
import { workflowRunFailureMessage } from '../../actions/lib/notify/workflow-run.js';
import { recordingCore } from '../helpers/recording-core.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';

describe('postToSlack against a local Slack', () => {
  let slack: SlackServer;
  beforeEach(async () => (slack = await startSlackServer()));
  afterEach(() => slack.close());

  it('posts to a webhook and masks its URL', async () => {
    const { core, rec } = recordingCore();
    const url = `${slack.url}/services/T000/B000/secret`;
    const r = await postToSlack(core, { webhookUrl: url }, { text: 'hello', blocks: [{ type: 'section' }] });
    expect(r).toEqual({ ok: true, attempts: 1 });
    expect(rec.secrets).toContain(url);
    expect(slack.calls[0].body).toEqual({ text: 'hello', blocks: [{ type: 'section' }] });
  });

  it('retries 429 honouring Retry-After, then 5xx, then succeeds', async () => {
    slack.script = [{ status: 429, headers: { 'retry-after': '1' } }, { status: 503 }, { status: 200, body: 'ok' }];
    const { core } = recordingCore();
    const started = Date.now();
    const r = await postToSlack(core, { webhookUrl: `${slack.url}/hook` }, { text: 'x' });
    expect(r.ok).toBe(true);
    expect(r.attempts).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry a 4xx and reports a warning, never throwing', async () => {
    slack.script = [{ status: 404, body: 'no_service' }];
    const { core, rec } = recordingCore();
    const r = await postToSlack(core, { webhookUrl: `${slack.url}/hook` }, { text: 'x' });
    expect(r.ok).toBe(false);
    expect(slack.calls).toHaveLength(1);
    expect(rec.logs.find((l) => l.level === 'warning')?.message).toMatch(/HTTP 404.*result is unaffected/);
  });

  it('uses chat.postMessage with a bearer token and treats ok:false as failure', async () => {
    slack.script = [{ status: 200, body: JSON.stringify({ ok: false, error: 'channel_not_found' }) }];
    const { core, rec } = recordingCore();
    const r = await postToSlack(core, { token: 'xoxb-secret', channel: 'C1', apiUrl: slack.url }, { text: 'x' });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/channel_not_found/);
    expect(slack.calls[0].path).toBe('/chat.postMessage');
    expect(slack.calls[0].headers.authorization).toBe('Bearer xoxb-secret');
    expect(slack.calls[0].body.channel).toBe('C1');
    expect(rec.secrets).toContain('xoxb-secret');
  });

  it('gives up after the attempts when Slack is down', async () => {
    await slack.close();
    const { core } = recordingCore();
    const r = await postToSlack(core, { webhookUrl: `${slack.url}/hook` }, { text: 'x' }, { attempts: 2 });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/request failed/);
    slack = await startSlackServer();
  });
});

describe('workflowRunFailureMessage', () => {
  it('names the workflow, links the run and the commit, and escapes text', () => {
    const msg = workflowRunFailureMessage({
      workflow_run: {
        name: 'CNPG restore drill',
        html_url: 'https://github.com/o/r/actions/runs/1',
        conclusion: 'failure',
        head_branch: 'main',
        head_sha: '0123456789abcdef',
        head_commit: { message: 'bump <operator>\n\nbody', author: { name: 'ann' } },
        repository: { full_name: 'o/r', html_url: 'https://github.com/o/r' },
      },
    })!;
    expect(msg.text).toBe(':x: CNPG restore drill failure on main for 0123456: bump <operator>');
    const json = JSON.stringify(msg.blocks);
    expect(json).toContain('<https://github.com/o/r/actions/runs/1|CNPG restore drill>');
    expect(json).toContain('<https://github.com/o/r/commit/0123456789abcdef|0123456>');
    expect(json).toContain('bump &lt;operator&gt;');
  });
});
