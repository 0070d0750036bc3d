// Child processes of the operator: everything runs through here so stop() can reap it all.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { pgBin } from '../../helpers/postgres-install.js';
import { postgresUser, spawnAs } from '../../helpers/postgres-user.js';

/** Whatever major the OS packages installed (test/helpers/postgres-install.ts). */
export const PG_BIN = pgBin();

export { postgresUser };

export const postgresEnv = (): Record<string, string> => ({
  PATH: `${PG_BIN}:/usr/local/bin:/usr/bin:/bin`,
  HOME: postgresUser().home,
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
});

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Tracks live children; each runs in its own process group so grandchildren die with it. */
export class ProcessGroup {
  private readonly live = new Set<ChildProcess>();
  private readonly subs = new Set<ProcessGroup>();
  private closed = false;

  /** A group whose processes can be stopped alone (a job attempt) and also die with this one. */
  sub(): ProcessGroup {
    const g = new ProcessGroup();
    this.subs.add(g);
    g.parent = this;
    return g;
  }
  private parent?: ProcessGroup;

  spawn(
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string>; cwd?: string; asPostgres?: boolean } = {},
  ): ChildProcess {
    if (this.closed) throw new Error('operator is stopping');
    const user = opts.asPostgres === false ? {} : spawnAs();
    const child = spawn(cmd, args, {
      env: { ...postgresEnv(), ...opts.env },
      cwd: opts.cwd ?? '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...user,
    });
    this.live.add(child);
    child.on('exit', () => this.live.delete(child));
    child.on('error', () => this.live.delete(child));
    return child;
  }

  /** Runs to completion; `onOutput` sees stdout and stderr as they come (for pod logs). */
  run(
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string>; cwd?: string; asPostgres?: boolean; onOutput?: (text: string) => void } = {},
  ): Promise<RunResult> {
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = this.spawn(cmd, args, opts);
      } catch (err) {
        resolve({ code: 127, signal: null, stdout: '', stderr: String((err as Error).message) });
        return;
      }
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        opts.onOutput?.(d.toString());
      });
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        opts.onOutput?.(d.toString());
      });
      child.on('error', (err) => resolve({ code: 127, signal: null, stdout, stderr: stderr + String(err.message) }));
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  /** SIGTERM every group, then SIGKILL what is left. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.closed = true;
    this.parent?.subs.delete(this);
    await Promise.all([...this.subs].map((g) => g.stopAll(graceMs)));
    const children = [...this.live];
    for (const c of children) killGroup(c, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (this.live.size > 0 && Date.now() < deadline) await sleep(50);
    for (const c of [...this.live]) killGroup(c, 'SIGKILL');
    while (this.live.size > 0 && Date.now() < deadline + 2000) await sleep(50);
  }
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Single-quoted for /bin/sh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
