// The slack-notify bundle as the runner runs it: the failure alert notify-failure.yml sends.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets, runAction } from '../helpers/run-action.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';

describe('slack-notify bundle', () => {
  let slack: SlackServer;
  beforeAll(async () => (slack = await startSlackServer()));
  afterAll(() => slack.close());

  it('posts the failure alert built from a workflow_run event, with the URL masked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-'));
    const eventPath = join(dir, 'event.json');
    writeFileSync(
      eventPath,
      JSON.stringify({
        workflow_run: { name: 'Deploy', html_url: 'https://github.com/o/r/actions/runs/9', conclusion: 'failure', head_branch: 'main', head_sha: 'abcdef1234', head_commit: { message: 'ship it' } },
        repository: { full_name: 'o/r', html_url: 'https://github.com/o/r' },
      }),
    );
    const hook = `${slack.url}/services/T1/B1/very-secret-token`;
    const r = await runAction('slack-notify', 'main', {
      inputs: { 'webhook-url': hook },
      env: { GITHUB_EVENT_NAME: 'workflow_run', GITHUB_EVENT_PATH: eventPath },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.posted).toBe('true');
    expect(slack.calls.at(-1)?.body.text).toBe(':x: Deploy failure on main for abcdef1: ship it');
    expect(r.masked).toContain(hook);
    expect(leakedSecrets(r, [hook])).toEqual([]);
  });

  it('fails with one clear error naming the input when nothing is configured', async () => {
    const r = await runAction('slack-notify', 'main', { inputs: { text: 'x' } });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toEqual([`Input 'webhook-url': give an incoming webhook URL, or bot-token together with channel.`]);
  });

  it('warns but succeeds when Slack is down, unless fail-on-error', async () => {
    slack.script = [{ status: 500 }];
    const base = { 'webhook-url': `${slack.url}/hook`, text: 'x' };
    const soft = await runAction('slack-notify', 'main', { inputs: base });
    expect(soft.exitCode).toBe(0);
    expect(soft.outputs.posted).toBe('false');
    expect(soft.stdout).toMatch(/::warning::Could not post to Slack \(Slack answered HTTP 500/);
    const hard = await runAction('slack-notify', 'main', { inputs: { ...base, 'fail-on-error': 'true' } });
    expect(hard.exitCode).toBe(1);
    slack.script = [{ status: 200, body: 'ok' }];
  }, 60_000);
});
