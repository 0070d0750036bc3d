// Any contributor can run the playground: PostgreSQL and barman-cloud run as the invoking user when it
// is not root (test/helpers/postgres-user.ts). CI runs as root, so as root this test creates an
// unprivileged user and runs a small scenario (test/playground/nonroot-scenario.ts) as that user.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from './playground.js';

const USER = 'cnpg-nonroot';
const root = process.getuid?.() === 0;
let created = false;
let home = '';

function ids(): { uid: number; gid: number } {
  if (!root) return { uid: process.getuid!(), gid: process.getgid!() };
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'nonroot-home-'));
  if (!root) return;
  try {
    execFileSync('id', [USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    created = true;
  }
  const { uid, gid } = ids();
  execFileSync('chown', [`${uid}:${gid}`, home]);
  chmodSync(home, 0o700);
});

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
  if (created) execFileSync('userdel', [USER]);
});

function runScenario(): Promise<{ code: number | null; out: string }> {
  const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, [join(REPO_ROOT, 'test/playground/nonroot-scenario.ts')], {
    cwd: REPO_ROOT,
    ...(root ? ids() : {}),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: tmpdir(), LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

it(`runs a playground, an initdb Cluster and a barman-cloud backup as an unprivileged user (${root ? USER : 'the invoking user'})`, async () => {
  const { code, out } = await runScenario();
  expect(code, out).toBe(0);
  const result = JSON.parse(out.trim().split('\n').at(-1)!);
  expect(result.uid).toBe(ids().uid);
  expect(result.uid).not.toBe(0);
  expect(result.row).toEqual({ current_user: 'app', su: 'postgres' });
  expect(result.backup).toMatchObject({ phase: 'completed' });
  expect(result.backup.backupId).toMatch(/^\d{8}T\d{6}$/);
});
