// Runs the helm binary. Spawned directly (not through @actions/exec) because the child must be
// reachable: a SIGTERM/SIGINT from the runner (cancel, step timeout) is forwarded to helm, whose
// upgrade then cancels and rolls back (--rollback-on-failure) instead of dying mid-wait.
import { spawn } from 'node:child_process';
import type { Core } from '../core.js';

export interface HelmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class HelmError extends Error {
  constructor(
    readonly args: string[],
    readonly result: HelmResult,
  ) {
    super(`helm ${args[0]} failed (exit ${result.exitCode}): ${lastLines(result.stderr || result.stdout, 6)}`);
    this.name = 'HelmError';
  }
}

export interface HelmRunOptions {
  /** Echo output lines to the log as they come (long commands). */
  stream?: boolean;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export class Helm {
  constructor(
    private readonly core: Pick<Core, 'info' | 'debug'>,
    readonly binary: string,
    /** Kubeconfig file for commands that reach the cluster; undefined for offline commands. */
    readonly kubeconfigPath?: string,
  ) {}

  async run(args: string[], opts: HelmRunOptions = {}): Promise<HelmResult> {
    const fullArgs = this.kubeconfigPath ? [...args, '--kubeconfig', this.kubeconfigPath] : args;
    this.core.info(`$ helm ${args.join(' ')}`);
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    if (this.kubeconfigPath) env.KUBECONFIG = this.kubeconfigPath;
    const child = spawn(this.binary, fullArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (signal: NodeJS.Signals) => () => {
      this.core.info(`received ${signal}: forwarding it to helm so it can cancel and roll back`);
      child.kill(signal);
    };
    const handlers = (['SIGTERM', 'SIGINT'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    let stdout = '';
    let stderr = '';
    const echo = (chunk: string) => {
      if (opts.stream) for (const line of chunk.split('\n')) if (line.trim()) this.core.info(line);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      echo(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      echo(d);
    });
    try {
      const exitCode = await new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
      });
      const result = { exitCode, stdout, stderr };
      if (exitCode !== 0 && !opts.allowFailure) throw new HelmError(args, result);
      if (!opts.stream && stderr.trim()) this.core.debug(stderr.trim());
      return result;
    } finally {
      for (const [s, h] of handlers) process.off(s, h);
    }
  }
}

export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** The value arguments shared by `helm template` and `helm upgrade`, so both render the same. */
export function valueArgs(valuesFiles: string[], set: string[]): string[] {
  return [...valuesFiles.flatMap((f) => ['--values', f]), ...set.flatMap((s) => ['--set', s])];
}
