// Runs the bundled CLI (dist/cnpg-restore-drill/cli.js) under Node 24 as a user would, with a
// clean environment (no KUBECONFIG unless given), and returns its exit code and streams.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, requireNode24 } from './run-action.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export const cliPath = () => join(process.env.ACTIONS_DIST ?? join(repoRoot, 'dist'), 'cnpg-restore-drill/cli.js');

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 240_000): Promise<CliRun> {
  const script = cliPath();
  if (!existsSync(script)) throw new Error(`${script} does not exist: run npm run build`);
  const started = Date.now();
  const child = spawn(requireNode24(), [script, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

export const explainCli = (r: CliRun) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-6000)}`;
