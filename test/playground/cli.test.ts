// `npm run playground -- up|status|down`: detached start, env file contract, clean stop.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from './playground.js';
import { alive, portOpen } from '../helpers/wait.js';

const run = promisify(execFile);
const stateDir = join(mkdtempSync(join(tmpdir(), 'playground-cli-')), 'state');
const cli = (cmd: string) =>
  run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'playground', 'cli.ts'), cmd], {
    cwd: REPO_ROOT,
    env: { ...process.env, PLAYGROUND_STATE_DIR: stateDir },
    timeout: 90_000,
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e) => ({ code: e.code as number, out: `${e.stdout}${e.stderr}` }),
  );

afterAll(async () => {
  await cli('down');
  rmSync(join(stateDir, '..'), { recursive: true, force: true });
});

it('up starts a detached playground with the env contract; down leaves no process, port or data', async () => {
  const up = await cli('up');
  expect(up.code, up.out).toBe(0);
  const env = Object.fromEntries(
    readFileSync(join(stateDir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  expect(env).toMatchObject({ PLAYGROUND_S3_BUCKET: 'backups', PLAYGROUND_S3_SECRET: 'playground-s3' });
  expect(existsSync(env.KUBECONFIG)).toBe(true);
  const pid = Number(readFileSync(join(stateDir, 'pid'), 'utf8'));
  const apiPort = Number(new URL(env.PLAYGROUND_API_URL).port);
  const s3Port = Number(new URL(env.PLAYGROUND_S3_ENDPOINT).port);
  expect((await fetch(`${env.PLAYGROUND_API_URL}/version`)).ok).toBe(true);
  const secret = await (
    await fetch(`${env.PLAYGROUND_API_URL}/api/v1/namespaces/default/secrets/playground-s3`)
  ).json();
  expect(Buffer.from(secret.data.ACCESS_KEY_ID, 'base64').toString()).toBeTruthy();
  expect(Object.keys(secret.data).sort()).toEqual(['ACCESS_KEY_ID', 'ACCESS_SECRET_KEY']);
  expect((await cli('status')).out).toContain('up');

  const down = await cli('down');
  expect(down.code, down.out).toBe(0);
  expect(alive(pid)).toBe(false);
  expect(await portOpen(apiPort)).toBe(false);
  expect(await portOpen(s3Port)).toBe(false);
  expect(existsSync(stateDir)).toBe(false);
  expect((await cli('status')).code).not.toBe(0);
});
