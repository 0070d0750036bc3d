// Shared set-up of the platform-install e2e tests: the bundled action run against a playground
// with the real helm binary, and readers for what it left in the cluster.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, type RunResult } from '../helpers/run-action.js';
import type { PlaygroundHandle, RequestLogEntry } from '../playground/types.js';
import { helmBin, kubectlBin } from './fixture.js';

export const RELEASE = 'platform';

export interface Installer {
  install(inputs: Record<string, string | undefined>, extraEnv?: Record<string, string>): Promise<RunResult>;
  kubectl(...args: string[]): Promise<string>;
  helm(...args: string[]): Promise<string>;
  /** Requests that changed something (dry-runs excluded) since `since`. */
  writesSince(since: number): RequestLogEntry[];
  dispose(): void;
}

export function installer(pg: PlaygroundHandle): Installer {
  // A private HOME: helm's and kubectl's caches stay per test file.
  const home = mkdtempSync(join(tmpdir(), 'platform-home-'));
  const env = { KUBECONFIG: pg.kubeconfigPath, HOME: home, PATH: pg.env.PATH };
  // Asynchronous on purpose: the playground's API server runs in this process.
  const cli =
    (bin: string) =>
    async (...args: string[]) =>
      (await promisify(execFile)(bin, args, { env: { ...process.env, ...env }, timeout: 60_000 })).stdout;
  return {
    install: (inputs, extraEnv = {}) =>
      runAction('platform-install', 'main', {
        inputs: {
          release: RELEASE,
          namespace: 'cnpg-system',
          'helm-path': helmBin,
          'skip-dependency-update': 'true',
          'helm-timeout': '60s',
          ...inputs,
        },
        env: { ...env, ...extraEnv },
        timeoutMs: 180_000,
      }),
    kubectl: cli(kubectlBin),
    helm: cli(helmBin),
    writesSince: (since) =>
      pg.requestLog
        .entries()
        .filter(
          (e) =>
            e.time >= since && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(e.method) && !/dryRun=All/.test(e.query),
        ),
    dispose: () => rmSync(home, { recursive: true, force: true }),
  };
}
