// `npm run playground -- up [--operator-version 1.25.4|...|1.30.0|main|main+pr11319] [--no-operator] [--rbac]|down|status`:
// runs the playground detached (daemon.ts), with its state in `.playground/` (env, pid, log, data).
import { spawn } from 'node:child_process';
import { get } from 'node:https';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOperatorVersion } from './cnpg/versions.js';

// Kept free of playground imports: the CLI must start fast.
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const stateDir = resolve(process.env.PLAYGROUND_STATE_DIR ?? join(REPO_ROOT, '.playground'));
const pidFile = join(stateDir, 'pid');
const envFile = join(stateDir, 'env');
const logFile = join(stateDir, 'playground.log');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function readEnv(): Record<string, string> {
  if (!existsSync(envFile)) return {};
  return Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** GET /version over HTTPS, verifying the server against the playground's CA (PLAYGROUND_API_CA). */
function apiAnswers(env: Record<string, string>): Promise<boolean> {
  const { PLAYGROUND_API_URL: url, PLAYGROUND_API_CA: caFile } = env;
  if (!url || !caFile || !existsSync(caFile)) return Promise.resolve(false);
  return new Promise((done) => {
    const req = get(`${url}/version`, { ca: readFileSync(caFile), timeout: 1000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `--operator-version X` / `--operator-version=X`, else PLAYGROUND_OPERATOR_VERSION. */
function operatorVersionArg(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--operator-version' || a.startsWith('--operator-version='));
  if (i < 0) return process.env.PLAYGROUND_OPERATOR_VERSION;
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
}

const UP_FLAGS = ['--no-operator', '--rbac'];

/** The daemon's flags, or an error naming the argument `up` does not know. */
function upArgs(args: string[]): { version?: string; flags: string[] } | string {
  const version = operatorVersionArg(args);
  if (version !== undefined) {
    try {
      parseOperatorVersion(version);
    } catch (err) {
      return `--operator-version: ${(err as Error).message}`;
    }
  }
  const flags = args.filter((a) => UP_FLAGS.includes(a));
  const unknown = args.filter(
    (a, i) => !UP_FLAGS.includes(a) && !a.startsWith('--operator-version') && args[i - 1] !== '--operator-version',
  );
  if (unknown.length) return `unknown argument ${unknown[0]}; up takes --operator-version X, --no-operator, --rbac`;
  return { version, flags };
}

async function up(): Promise<number> {
  const parsed = upArgs(process.argv.slice(3));
  if (typeof parsed === 'string') {
    console.error(parsed);
    return 2;
  }
  const { version, flags } = parsed;
  const running = readPid();
  if (running && alive(running)) {
    console.log(`playground already running (pid ${running}); env in ${envFile}`);
    return 0;
  }
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const log = openSync(logFile, 'a');
  // One process (tsx as an import hook, not its wrapper CLI) so the pid file names the group leader.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'test', 'playground', 'daemon.ts'), stateDir, ...flags],
    {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: REPO_ROOT,
      env: version ? { ...process.env, PLAYGROUND_OPERATOR_VERSION: version } : process.env,
    },
  );
  child.unref();
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    if (child.exitCode !== null || !alive(child.pid!)) {
      console.error(`playground failed to start; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      return 1;
    }
    if (existsSync(pidFile) && (await apiAnswers(readEnv()))) {
      console.log(`playground up in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
      console.log(`env: ${envFile}`);
      for (const [k, v] of Object.entries(readEnv())) if (k !== 'PATH') console.log(`  ${k}=${v}`);
      return 0;
    }
    await sleep(100);
  }
  console.error('playground did not answer within 60 s');
  process.kill(-child.pid!, 'SIGKILL');
  return 1;
}

async function down(): Promise<number> {
  const pid = readPid();
  // The data dir may be a temp dir outside the state dir (see daemon.ts): remove it too.
  const dataDir = readEnv().PLAYGROUND_DIR;
  if (pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) {
      // The daemon leads its own process group (detached): take its children with it.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
  console.log(pid ? `playground stopped (pid ${pid})` : 'playground was not running');
  return 0;
}

async function status(): Promise<number> {
  const pid = readPid();
  const env = readEnv();
  if (!pid || !alive(pid)) {
    console.log('playground: down');
    return 1;
  }
  const ok = await apiAnswers(env);
  console.log(
    `playground: ${ok ? 'up' : 'starting or unhealthy'} (pid ${pid}) api ${env.PLAYGROUND_API_URL ?? '?'} operator ${env.PLAYGROUND_OPERATOR_VERSION ?? '?'}`,
  );
  console.log(`env: ${envFile}`);
  return ok ? 0 : 1;
}

const cmd = process.argv[2];
const commands: Record<string, () => Promise<number>> = { up, down, status };
if (!commands[cmd]) {
  console.error(
    'usage: npm run playground -- up [--operator-version 1.25.0..1.30.x|main|main+pr11319] [--no-operator] [--rbac] | down | status',
  );
  process.exit(2);
}
process.exit(await commands[cmd]());
