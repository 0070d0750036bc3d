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
import { createTiming, seedLine } from '../timing.js';
import { ensurePostgresDir } from './postgres.js';
import { b64 } from './context.js';
import { waitFor } from '../../helpers/wait.js';
import { postgresUser } from '../../helpers/postgres-user.js';
export { waitFor };

export interface TestEnv {
  /** Last seen state of every Job and the last log of its pods: CNPG deletes completed bootstrap Jobs (and their pods' logs) once the instances report, like a log shipper would keep them. */
  seenJobs: Map<string, { job: KubeObject; log: string }>;
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
  const timing = createTiming();
  console.error(seedLine(timing));
  const api = await startApiServer({ dataDir: dir, port: 0, host: '127.0.0.1', timing });
  const s3 = await startS3({ dir: join(dir, 's3') });
  const full: OperatorSettings = { version: '1.28.4', jobBackoffLimit: 0, ...settings };
  const operator = await startOperator({
    store: api.store,
    runtimes: api.controllers.runtimes,
    network: api.network,
    logs: api.logs,
    s3,
    dataDir: dir,
    settings: full,
    timing,
  });
  if (!api.store.get('v1/namespaces', undefined, 'default')) {
    api.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  }
  api.store.create('v1/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's3-creds', namespace: 'default' },
    data: { ACCESS_KEY_ID: b64(s3.accessKeyId), ACCESS_SECRET_KEY: b64(s3.secretAccessKey) },
  });
  const seenJobs = new Map<string, { job: KubeObject; log: string }>();
  const stopJobs = api.store.watch('batch/v1/jobs', 'default', {}, (ev) => {
    if (ev.type !== 'DELETED')
      seenJobs.set(ev.object.metadata.name, { job: ev.object, log: seenJobs.get(ev.object.metadata.name)?.log ?? '' });
  });
  const stopPods = api.store.watch('v1/pods', 'default', {}, (ev) => {
    const job = ev.object.metadata.labels?.['job-name'];
    const log = job && ev.type !== 'DELETED' ? api.logs.read('default', ev.object.metadata.name) : '';
    if (job && log) seenJobs.set(job, { job: seenJobs.get(job)?.job ?? ev.object, log });
  });
  return {
    seenJobs,
    dir,
    api,
    store: api.store,
    s3,
    operator,
    settings: full,
    async stop() {
      stopJobs();
      stopPods();
      await operator.stop();
      await api.stop();
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const CLUSTER = 'postgresql.cnpg.io/v1/clusters';

export function inTreeStore(env: TestEnv, path: string, extra: Record<string, unknown> = {}) {
  return {
    destinationPath: `s3://${env.s3.bucket}/${path}`,
    endpointURL: env.s3.endpoint,
    s3Credentials: {
      accessKeyId: { name: 's3-creds', key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: 's3-creds', key: 'ACCESS_SECRET_KEY' },
    },
    ...extra,
  };
}

export function cluster(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name, namespace: 'default' },
    spec: { instances: 1, storage: { size: '1Gi' }, ...spec },
  };
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
  return waitFor(
    `cluster ${name} healthy`,
    () => {
      const c = env.store.get(CLUSTER, 'default', name);
      return isHealthy(c) ? c : undefined;
    },
    timeoutMs,
  );
}

const secretVal = (s: KubeObject, k: string) => Buffer.from(s.data[k], 'base64').toString();

/** Connects as the -app user through the pod network (like a port-forward to the primary). */
export async function appQuery(env: TestEnv, clusterName: string, sql: string, params: unknown[] = []): Promise<any[]> {
  const c = env.store.get(CLUSTER, 'default', clusterName)!;
  const secret = env.store.get('v1/secrets', 'default', `${clusterName}-app`)!;
  const ep = env.api.network.resolve('default', c.status.currentPrimary, 5432)!;
  const client = new pg.Client({
    host: ep.host,
    port: ep.port,
    user: secretVal(secret, 'username'),
    password: secretVal(secret, 'password'),
    database: secretVal(secret, 'dbname'),
  });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Processes of the PostgreSQL user started for this environment (other suites share the machine). */
export function postgresPids(dir: string): string {
  try {
    return execFileSync('pgrep', ['-u', String(postgresUser().uid), '-f', dir])
      .toString()
      .trim();
  } catch {
    return '';
  }
}

/** SQL as postgres on the primary through the pod network (needs enableSuperuserAccess). */
export async function suQuery(
  env: TestEnv,
  clusterName: string,
  sql: string,
  params: unknown[] = [],
  database = 'app',
): Promise<any[]> {
  const c = env.store.get(CLUSTER, 'default', clusterName)!;
  const secret = env.store.get('v1/secrets', 'default', `${clusterName}-superuser`)!;
  const ep = env.api.network.resolve('default', c.status.currentPrimary, 5432)!;
  const client = new pg.Client({
    host: ep.host,
    port: ep.port,
    user: 'postgres',
    password: secretVal(secret, 'password'),
    database,
  });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Switches WAL and waits until the segment holding everything so far is archived. */
export async function archiveNow(env: TestEnv, clusterName: string): Promise<void> {
  const [{ w }] = await suQuery(env, clusterName, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS w');
  await suQuery(env, clusterName, 'SELECT pg_switch_wal()');
  await waitFor(
    `archive of ${w}`,
    async () => {
      const [a] = await suQuery(env, clusterName, 'SELECT last_archived_wal FROM pg_stat_archiver');
      return a.last_archived_wal && a.last_archived_wal >= w;
    },
    30_000,
    200,
  );
}

export const BACKUP = 'postgresql.cnpg.io/v1/backups';

export function backup(name: string, clusterName: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Backup',
    metadata: { name, namespace: 'default' },
    spec: { cluster: { name: clusterName }, ...spec },
  };
}

export function waitBackup(env: TestEnv, name: string, timeoutMs = 120_000): Promise<KubeObject> {
  return waitFor(
    `backup ${name} done`,
    () => {
      const b = env.store.get(BACKUP, 'default', name);
      return b && ['completed', 'failed'].includes(b.status?.phase) ? b : undefined;
    },
    timeoutMs,
    100,
  );
}

export function jobFinished(env: TestEnv, name: string, timeoutMs = 120_000): Promise<KubeObject> {
  return waitFor(
    `job ${name} finished`,
    () => {
      const j = env.store.get('batch/v1/jobs', 'default', name);
      return j?.status?.conditions?.some((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True')
        ? j
        : undefined;
    },
    timeoutMs,
    100,
  );
}

/** All logs of a job's pods (the last captured ones once CNPG deleted the completed Job). */
export function jobLogs(env: TestEnv, jobName: string): string {
  const live = env.store
    .list('v1/pods', 'default', { labelSelector: `job-name=${jobName}` })
    .items.map((p) => env.api.logs.read('default', p.metadata.name))
    .join('\n');
  return live.trim() ? live : (env.seenJobs.get(jobName)?.log ?? '');
}

/**
 * Records a Job as it runs (CNPG deletes a completed Job, its pods and so their logs once the
 * cluster is healthy): the Job as created and everything its pods logged.
 */
export function recordJob(env: TestEnv, jobName: string): { job?: KubeObject; log: string; stop(): void } {
  const rec: { job?: KubeObject; log: string; stop(): void } = { log: '', stop: () => undefined };
  const unsub: Array<() => void> = [];
  unsub.push(
    env.store.watch('batch/v1/jobs', 'default', {}, (ev) => {
      if (ev.type === 'ADDED' && ev.object.metadata.name === jobName) rec.job = ev.object;
    }),
  );
  unsub.push(
    env.store.watch('v1/pods', 'default', {}, (ev) => {
      if (ev.type !== 'ADDED' || ev.object.metadata.labels?.['job-name'] !== jobName) return;
      unsub.push(env.api.logs.subscribe('default', ev.object.metadata.name, undefined, (t) => void (rec.log += t)));
    }),
  );
  rec.stop = () => unsub.forEach((u) => u());
  return rec;
}
