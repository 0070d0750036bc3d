// The whole playground for tests and the CLI: S3 (s3rver), the emulated API server with its
// built-in controllers, and the CNPG operator emulator, isolated in one directory with its
// own ports. stop() leaves no process, port or directory behind.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServerHandle } from './apiserver/server.js';
import { startOperator } from './cnpg/index.js';
import { startS3 } from './s3.js';
import { createTiming, seedLine, type Timing } from './timing.js';
import { parseOperatorVersion } from './cnpg/versions.js';
import { postgresCanReach, postgresUser } from '../helpers/postgres-user.js';
import type { OperatorHandle, OperatorSettings, PlaygroundHandle, S3Handle } from './types.js';
import { kubeconfigYaml } from './kubeconfig.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_OPERATOR_VERSION = '1.30.0';
export const S3_SECRET = 'playground-s3';
export { kubeconfigYaml };

export interface PlaygroundOptions {
  dir?: string;
  operatorVersion?: string;
  /** false: a fresh cluster without the CNPG operator emulator (no CNPG CRDs, no webhooks), for installing the operator's chart. */
  operator?: boolean;
  /** Fixed API port (the CLI's default is a free port too). */
  apiPort?: number;
  /** Enforce authentication and RBAC in the API server (apiserver/authz.ts); the kubeconfig stays admin. */
  rbac?: boolean;
  /** Share this object store (not stopped by this playground): two playgrounds, one S3, see startPlaygroundPair. */
  s3?: S3Handle;
  /** How long the volume provisioner takes to delete a released Delete-policy PV (default: seconds, volumes.ts). */
  volumeDeleteDelayMs?: number;
  /**
   * When the controllers act (timing.ts): seeded random delays by default; 'fixed' only for a test whose
   * point is a precise timing (say why where it is used).
   */
  timing?: 'random' | 'fixed';
}

export { postgresCanReach };

export async function startPlayground(opts: PlaygroundOptions = {}): Promise<PlaygroundHandle> {
  // An unknown version is refused before anything starts (versions.ts names what is emulated).
  const version = opts.operatorVersion ?? process.env.PLAYGROUND_OPERATOR_VERSION ?? DEFAULT_OPERATOR_VERSION;
  parseOperatorVersion(version);
  const dir = playgroundDir(opts);
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error('playground stop:', e));
    cleanups.length = 0;
  };
  try {
    const s3: S3Handle = opts.s3 ?? (await startS3({ dir: join(dir, 's3') }));
    if (!opts.s3) cleanups.push(() => s3.stop());
    const timing = createTiming({ mode: opts.timing });
    console.error(seedLine(timing));
    // HTTPS as a real API server: kubectl sends bearer tokens only over TLS.
    const api: ApiServerHandle = await startApiServer({
      dataDir: dir,
      port: opts.apiPort,
      rbac: opts.rbac,
      tls: true,
      volumeDeleteDelayMs: opts.volumeDeleteDelayMs,
      timing,
    });
    cleanups.push(() => api.stop());
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(api.url, undefined, api.ca), { mode: 0o600 });
    api.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: S3_SECRET, namespace: 'default', labels: { 'app.kubernetes.io/part-of': 'cnpg-playground' } },
      type: 'Opaque',
      stringData: { ACCESS_KEY_ID: s3.accessKeyId, ACCESS_SECRET_KEY: s3.secretAccessKey },
    });
    const settings: OperatorSettings = { version };
    await runOperator(opts, api, s3, join(dir, 'operator'), settings, cleanups, timing);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    };
    return handleOf(dir, api, s3, kubeconfigPath, settings, stop);
  } catch (e) {
    await stopAll();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The playground's directory, made reachable by the user PostgreSQL runs as (it holds the volumes). */
function playgroundDir(opts: PlaygroundOptions): string {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cnpg-playground-'));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  if (!postgresCanReach(dir)) {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `playground directory ${dir} is not reachable by the OS user '${postgresUser().name}' that runs PostgreSQL (a parent directory is not traversable); use a directory under ${tmpdir()}.`,
    );
  }
  return dir;
}

async function runOperator(
  opts: PlaygroundOptions,
  api: ApiServerHandle,
  s3: S3Handle,
  operatorDir: string,
  settings: OperatorSettings,
  cleanups: (() => Promise<void>)[],
  timing: Timing,
): Promise<void> {
  mkdirSync(operatorDir, { recursive: true, mode: 0o755 });
  let operator: Pick<OperatorHandle, 'settings'> = { settings };
  if (opts.operator !== false) {
    const running = await startOperator({
      store: api.store,
      runtimes: api.controllers.runtimes,
      network: api.network,
      logs: api.logs,
      s3,
      dataDir: operatorDir,
      settings,
      timing,
    });
    // Stopping the operator first stops its Postgres processes before their volumes go.
    cleanups.push(() => running.stop());
    operator = running;
  }
  api.attachOperatorSettings(operator.settings);
}

function handleOf(
  dir: string,
  api: ApiServerHandle,
  s3: S3Handle,
  kubeconfigPath: string,
  settings: OperatorSettings,
  stop: () => Promise<void>,
): PlaygroundHandle {
  return {
    dir,
    apiUrl: api.url,
    apiCa: api.ca!,
    kubeconfigPath,
    env: {
      KUBECONFIG: kubeconfigPath,
      PLAYGROUND_S3_ENDPOINT: s3.endpoint,
      PLAYGROUND_S3_BUCKET: s3.bucket,
      PLAYGROUND_S3_SECRET: S3_SECRET,
      PATH: `${join(REPO_ROOT, '.tools', 'bin')}:${process.env.PATH ?? ''}`,
    },
    store: api.store,
    network: api.network,
    logs: api.logs,
    faults: api.faults,
    requestLog: api.requestLog,
    operator: { settings },
    mintToken: (namespace, serviceAccount, expirationSeconds) =>
      api.mintToken(namespace, serviceAccount, expirationSeconds),
    kubeconfigFor(token, name) {
      const path = join(dir, `kubeconfig-${name}`);
      writeFileSync(path, kubeconfigYaml(api.url, token, api.ca), { mode: 0o600 });
      return path;
    },
    runtimes: api.controllers.runtimes,
    s3,
    stop,
  };
}

export interface PlaygroundPair {
  /** The live site. */
  live: PlaygroundHandle;
  /** The disaster-recovery site: another API server and operator, the same object store. */
  dr: PlaygroundHandle;
  s3: S3Handle;
  stop(): Promise<void>;
}

/** Two Kubernetes clusters (API server + operator each) sharing one S3 object store. */
export async function startPlaygroundPair(
  opts: { live?: PlaygroundOptions; dr?: PlaygroundOptions } = {},
): Promise<PlaygroundPair> {
  const s3dir = mkdtempSync(join(tmpdir(), 'cnpg-playground-s3-'));
  const s3 = await startS3({ dir: s3dir });
  const started: PlaygroundHandle[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop().catch((e) => console.error('playground pair stop:', e));
    started.length = 0;
    await s3.stop();
    rmSync(s3dir, { recursive: true, force: true });
  };
  try {
    started.push(await startPlayground({ ...opts.live, s3 }));
    started.push(await startPlayground({ ...opts.dr, s3 }));
    const [live, dr] = started;
    return { live, dr, s3, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
