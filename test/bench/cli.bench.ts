// Cold start of the CLI against the action's: process spawn -> its first API request, seen by a
// local HTTP server standing in for the API server (it answers 503, so both stop right after).
// Same bundle, same Node 24, same inputs; the CLI must stay within 1.2x of the action (issue 23).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { inputEnv, repoRoot, requireNode24 } from '../helpers/run-action.js';
import { cliPath } from '../helpers/run-cli.js';
import { envInt } from './env.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function firstRequestMs(args: string[], env: Record<string, string>, waitRequest: () => Promise<number>) {
  const started = performance.now();
  const child = spawn(requireNode24(), args, { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env } });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // The first request, or the process ending without one (a broken setup: say why).
  const none = exited.then(() => Promise.reject(new Error(`no API request:\n${output}`)));
  const at = await Promise.race([waitRequest(), none]);
  none.catch(() => {});
  child.kill('SIGKILL'); // the stand-in answers 503: the process would retry for minutes
  await exited;
  return at - started;
}

export async function benchCliColdStart(log: (line: string) => void): Promise<Record<string, number>> {
  const rounds = envInt('BENCH_CLI_ROUNDS', 7);
  let onRequest: ((at: number) => void) | undefined;
  const server = createServer((_req, res) => {
    onRequest?.(performance.now());
    onRequest = undefined;
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'b', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'b', user: { token: 'bench' } }],
      contexts: [{ name: 'b', context: { cluster: 'b', user: 'b' } }],
      'current-context': 'b',
    }),
  );
  const next = () => new Promise<number>((r) => (onRequest = r));
  const action = join(process.env.ACTIONS_DIST ?? join(repoRoot, 'dist'), 'cnpg-restore-drill/main.js');
  const runner = {
    RUNNER_TEMP: dir,
    GITHUB_OUTPUT: join(dir, 'o'),
    GITHUB_STATE: join(dir, 's'),
    GITHUB_STEP_SUMMARY: join(dir, 'm'),
  };
  for (const f of [runner.GITHUB_OUTPUT, runner.GITHUB_STATE, runner.GITHUB_STEP_SUMMARY]) writeFileSync(f, '');
  const times = { action: [] as number[], cli: [] as number[] };
  try {
    for (let i = 0; i < rounds; i++) {
      // Alternate, so load on the machine falls on both alike.
      times.action.push(
        await firstRequestMs(
          [action],
          { ...runner, KUBECONFIG: kubeconfig, ...inputEnv({ cluster: 'pg', namespace: 'db' }) },
          next,
        ),
      );
      times.cli.push(
        await firstRequestMs(
          [cliPath(), 'run', '--kubeconfig', kubeconfig, '--cluster', 'pg', '--namespace', 'db'],
          {},
          next,
        ),
      );
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const action_ms = Math.round(median(times.action));
  const cli_ms = Math.round(median(times.cli));
  const ratio = Math.round((cli_ms / action_ms) * 100) / 100;
  log(`spawn -> first API request, median of ${rounds}: action ${action_ms} ms, CLI ${cli_ms} ms (x${ratio})`);
  if (ratio > 1.2) throw new Error(`the CLI starts ${ratio}x slower than the action (limit 1.2x)`);
  return { action_ms, cli_ms, ratio };
}
