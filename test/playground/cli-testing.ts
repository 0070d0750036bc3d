// Test helpers for `npm run playground` (cli.ts): run it against a private state dir, read its env file.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './playground.js';

const run = promisify(execFile);

/** `cli(...args)` runs cli.ts with PLAYGROUND_STATE_DIR=stateDir: exit code and stdout+stderr. */
export function playgroundCli(stateDir: string) {
  return (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'playground', 'cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PLAYGROUND_STATE_DIR: stateDir },
      timeout: 90_000,
    }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e) => ({ code: e.code as number, out: `${e.stdout}${e.stderr}` }),
    );
}

/** `<stateDir>/env` as the daemon wrote it (KEY=value lines). */
export function readEnvFile(stateDir: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(stateDir, 'env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** GET over HTTPS trusting only `ca` (or the system roots when absent), with the kubeconfig's admin token. */
export function httpsGet(url: string, ca?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: 'Bearer playground-token' };
    get(url, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode} ${body}`))));
    }).on('error', reject);
  });
}
