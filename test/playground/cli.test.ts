// `npm run playground -- up|status|down`: detached start, env file contract, clean stop.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { httpsGet, playgroundCli, readEnvFile } from './cli-testing.js';
import { alive, portOpen } from '../helpers/wait.js';

const stateDir = join(mkdtempSync(join(tmpdir(), 'playground-cli-')), 'state');
const cli = playgroundCli(stateDir);

afterAll(async () => {
  await cli('down');
  rmSync(join(stateDir, '..'), { recursive: true, force: true });
});

it('up starts a detached playground with the env contract; down leaves no process, port or data', async () => {
  const up = await cli('up');
  expect(up.code, up.out).toBe(0);
  const env = readEnvFile(stateDir);
  expect(env).toMatchObject({ PLAYGROUND_S3_BUCKET: 'backups', PLAYGROUND_S3_SECRET: 'playground-s3' });
  expect(existsSync(env.KUBECONFIG)).toBe(true);
  const pid = Number(readFileSync(join(stateDir, 'pid'), 'utf8'));
  const apiPort = Number(new URL(env.PLAYGROUND_API_URL).port);
  const s3Port = Number(new URL(env.PLAYGROUND_S3_ENDPOINT).port);
  // HTTPS, verified against the CA the env file names (no skipping verification).
  expect(env.PLAYGROUND_API_URL).toMatch(/^https:/);
  const ca = readFileSync(env.PLAYGROUND_API_CA);
  expect(JSON.parse(await httpsGet(`${env.PLAYGROUND_API_URL}/version`, ca)).gitVersion).toMatch(/^v1\./);
  await expect(httpsGet(`${env.PLAYGROUND_API_URL}/version`)).rejects.toThrow(
    /self-signed|unable to verify|certificate/,
  );
  const secret = JSON.parse(
    await httpsGet(`${env.PLAYGROUND_API_URL}/api/v1/namespaces/default/secrets/playground-s3`, ca),
  );
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
