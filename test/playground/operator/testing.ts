// Test support for the operator suites: an API server + S3 + operator on a temp dir, and waits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { startApiServer, type ApiServerHandle } from '../apiserver/server.js';
import { startS3 } from '../s3.js';
import type { KubeObject, OperatorHandle, OperatorSettings, S3Handle, Store } from '../types.js';
import { startOperator } from './index.js';
import { ensurePostgresDir } from './instance.js';
import { b64 } from './context.js';

export interface TestEnv {
  dir: string;
  api: ApiServerHandle;
  store: Store;
  s3: S3Handle;
  operator: OperatorHandle;
  settings: OperatorSettings;
  stop(): Promise<void>;
}

export async function startEnv(settings: Partial<OperatorSettings> = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'cnpg-op-'));
  ensurePostgresDir(dir); // volumes under it must be reachable by postgres
  execFileSync('chmod', ['0755', dir]);
  const api = await startApiServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
  const s3 = await startS3({ dir: join(dir, 's3') });
  const full: OperatorSettings = { version: '1.28.4', jobBackoffLimit: 0, ...settings };
  const operator = await startOperator({ store: api.store, network: api.network, logs: api.logs, s3, dataDir: dir, settings: full });
  if (!api.store.get('v1/namespaces', undefined, 'default')) {
    api.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  }
  api.store.create('v1/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's3-creds', namespace: 'default' },
    data: { ACCESS_KEY_ID: b64(s3.accessKeyId), ACCESS_SECRET_KEY: b64(s3.secretAccessKey) },
  });
  return {
    dir,
    api,
    store: api.store,
    s3,
    operator,
    settings: full,
    async stop() {
      await operator.stop();
      await api.stop();
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const CLUSTER = 'postgresql.cnpg.io/v1/clusters';

export function inTreeStore(env: TestEnv, path: string, extra: Record<string, unknown> = {}) {
  return {
    destinationPath: `s3://${env.s3.bucket}/${path}`,
    endpointURL: env.s3.endpoint,
    s3Credentials: { accessKeyId: { name: 's3-creds', key: 'ACCESS_KEY_ID' }, secretAccessKey: { name: 's3-creds', key: 'ACCESS_SECRET_KEY' } },
    ...extra,
  };
}

export function cluster(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name, namespace: 'default' }, spec: { instances: 1, storage: { size: '1Gi' }, ...spec } };
}

export function isHealthy(c: KubeObject | undefined): boolean {
  const s = c?.status;
  return (
    s?.phase === 'Cluster in healthy state' &&
    s.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True') &&
    s.readyInstances === c!.spec.instances &&
    s.currentPrimary === s.targetPrimary
  );
}

export function waitHealthy(env: TestEnv, name: string, timeoutMs = 60_000): Promise<KubeObject> {
  return waitFor(`cluster ${name} healthy`, () => {
    const c = env.store.get(CLUSTER, 'default', name);
    return isHealthy(c) ? c : undefined;
  }, timeoutMs);
}

const secretVal = (s: KubeObject, k: string) => Buffer.from(s.data[k], 'base64').toString();

/** Connects as the -app user through the pod network (like a port-forward to the primary). */
export async function appQuery(env: TestEnv, clusterName: string, sql: string, params: unknown[] = []): Promise<any[]> {
  const c = env.store.get(CLUSTER, 'default', clusterName)!;
  const secret = env.store.get('v1/secrets', 'default', `${clusterName}-app`)!;
  const ep = env.api.network.resolve('default', c.status.currentPrimary, 5432)!;
  const client = new pg.Client({ host: ep.host, port: ep.port, user: secretVal(secret, 'username'), password: secretVal(secret, 'password'), database: secretVal(secret, 'dbname') });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export function postgresPids(): string {
  try {
    return execFileSync('pgrep', ['-u', 'postgres', 'postgres']).toString().trim();
  } catch {
    return '';
  }
}
