// Test support for addon-sync e2e suites: a playground, app fixtures (namespace, Deployment,
// app.toml files), running the bundled action, connecting with the injected DATABASE_URL, and
// an orphan check (everything the add-ons made is owned by an association, or gone).
import { KubeConfig } from '@kubernetes/client-node';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sqlNameFor } from '../../actions/lib/addons/naming.js';
import { OWNED_KEYS_ANNOTATION } from '../../actions/lib/addons/env.js';
import { startPlayground } from '../playground/playground.js';
import type { KubeObject, PlaygroundHandle, RequestLogEntry } from '../playground/types.js';
import { runAction, type RunOptions, type RunResult } from '../helpers/run-action.js';
import { waitFor } from '../helpers/wait.js';

export const NS = 'cnpg-addons';
export const CLUSTERS = 'postgresql.cnpg.io/v1/clusters';
export const SCHEDULED = 'postgresql.cnpg.io/v1/scheduledbackups';

export interface Bed {
  pg: PlaygroundHandle;
  kc: KubeConfig;
  dir: string;
  stop(): Promise<void>;
}

export async function startBed(opts: { operatorVersion?: string; rbac?: boolean } = {}): Promise<Bed> {
  const pgh = await startPlayground(opts);
  const kc = new KubeConfig();
  kc.loadFromFile(pgh.kubeconfigPath);
  const dir = mkdtempSync(join(tmpdir(), 'addon-apps-'));
  return {
    pg: pgh,
    kc,
    dir,
    async stop() {
      await pgh.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The app's namespace and Deployment (what a deploy would have made). */
export function deployApp(
  bed: Bed,
  app: string,
  opts: { deployment?: boolean; env?: Record<string, string> } = {},
): void {
  const s = bed.pg.store;
  if (!s.get('v1/namespaces', undefined, app))
    s.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } });
  if (opts.deployment !== false && !s.get('apps/v1/deployments', app, app)) {
    s.create('apps/v1/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace: app },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { containers: [{ name: 'web', image: 'nginx', envFrom: [{ secretRef: { name: `${app}-env` } }] }] },
        },
      },
    });
  }
  if (opts.env) {
    s.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${app}-env`, namespace: app },
      type: 'Opaque',
      stringData: opts.env,
    });
  }
}

/** Writes apps/<app>/app.toml; `addons` undefined writes no [addons] table. */
export function writeApp(bed: Bed, app: string, body: string): void {
  mkdirSync(join(bed.dir, 'apps', app), { recursive: true });
  writeFileSync(join(bed.dir, 'apps', app, 'app.toml'), `name = "${app}"\n${body}`);
}

export const variantToml = (variant: string, addon = 'postgresql') => `\n[addons.${addon}]\nvariant = "${variant}"\n`;

export function removeAppFile(bed: Bed, app: string): void {
  rmSync(join(bed.dir, 'apps', app), { recursive: true, force: true });
}

export async function sync(bed: Bed, inputs: Record<string, string> = {}, opts: RunOptions = {}): Promise<RunResult> {
  const r = await runAction('addon-sync', 'main', {
    timeoutMs: 240_000,
    ...opts,
    inputs: { apps: 'apps/*/app.toml', mode: 'apply', timeout: '3m', ...inputs },
    env: { KUBECONFIG: bed.pg.kubeconfigPath, GITHUB_WORKSPACE: bed.dir, ...opts.env },
  });
  return r;
}

export function explain(r: RunResult): string {
  return `exit ${r.exitCode} signal ${r.signal}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;
}

export function envOf(bed: Bed, app: string): Record<string, string> | undefined {
  const s = bed.pg.store.get('v1/secrets', app, `${app}-env`);
  if (!s) return undefined;
  return Object.fromEntries(
    Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString('utf8'),
    ]),
  );
}

export function association(bed: Bed, app: string, addon = 'postgresql'): Record<string, string> | undefined {
  return bed.pg.store.get('v1/configmaps', NS, `addon-${app}-${addon}`)?.data as Record<string, string> | undefined;
}

export const writes = (entries: RequestLogEntry[]) =>
  entries.filter((e) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(e.method));

/**
 * Connects with the app's injected DATABASE_URL as the app inside the cluster would: an in-cluster
 * `<service>.<ns>.svc` host through the Service, to the endpoint it routes to now (network.ts), retried
 * while it routes nowhere yet, as an app's connection retry does (endpoints follow a ready pod later);
 * a remote host directly. Creates a table, proving the role owns a usable database.
 */
export async function connectAsApp(bed: Bed, url: string): Promise<{ user: string; database: string }> {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.slice(1));
  let host = u.hostname;
  let port = Number(u.port);
  const svc = /^([^.]+)\.([^.]+)\.svc$/.exec(host);
  if (svc) {
    const routed = () => bed.pg.network.resolveService(svc[2], svc[1], port);
    ({ host, port } = await waitFor(`Service ${host} routed to a ready pod`, routed, 30_000, 100));
  }
  const client = new pg.Client({ host, port, user, password, database, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const table = `t_${Date.now()}`;
    await client.query(`CREATE TABLE ${table} (id int primary key, note text)`);
    await client.query(`INSERT INTO ${table} VALUES (1, 'hello')`);
    const { rows } = await client.query(
      `SELECT current_user AS user, current_database() AS database, (SELECT count(*) FROM ${table})::int AS n`,
    );
    if (rows[0].n !== 1) throw new Error('table not written');
    return { user: rows[0].user, database: rows[0].database };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Superuser query on a playground cluster's primary (test setup / verification only). */
export async function superuserQuery(
  bed: Bed,
  ns: string,
  clusterName: string,
  sql: string,
): Promise<Record<string, unknown>[]> {
  const cluster = bed.pg.store.get(CLUSTERS, ns, clusterName)!;
  const target = bed.pg.network.resolve(ns, cluster.status.currentPrimary, 5432)!;
  const secret = bed.pg.store.get('v1/secrets', ns, `${clusterName}-superuser`)!;
  const password = Buffer.from(secret.data.password, 'base64').toString('utf8');
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: 'postgres',
    password,
    database: 'postgres',
  });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const SYSTEM_DBS = new Set(['postgres', 'template0', 'template1', 'app']);
const SYSTEM_ROLES = new Set(['postgres', 'app', 'streaming_replica']);

/**
 * Everything the add-ons made is owned by an association (or retained on purpose): Clusters,
 * ScheduledBackups, credentials Secrets, env keys, and databases/roles on the shared cluster.
 * Also no association is left non-terminal. Returns the problems found.
 */
export async function orphans(bed: Bed, opts: { sharedCluster?: string; apps: string[] }): Promise<string[]> {
  const s = bed.pg.store;
  const problems: string[] = [];
  const assocs = s
    .list('v1/configmaps', NS, { labelSelector: 'cnpg-actions.io/component=association' })
    .items.map((c) => c.data as Record<string, string>);
  const owned = (kind: string, name: string) =>
    assocs.some(
      (a) =>
        a.status !== 'error' &&
        (JSON.parse(a.resources) as { kind: string; name: string }[]).some((r) => r.kind === kind && r.name === name),
    );
  for (const a of assocs)
    if (['pending', 'provisioning', 'deprovisioning'].includes(a.status))
      problems.push(`association ${a.app}/${a.addon} is ${a.status}`);
  const sharedUsers = assocs.filter((a) => a.variant === 'shared' && a.status !== 'error');
  const shared = opts.sharedCluster ?? 'addons-shared';
  for (const c of s.list(CLUSTERS, NS).items) {
    const name = c.metadata.name;
    if (name === shared) {
      if (!sharedUsers.length) problems.push(`shared cluster ${name} exists without users`);
      continue;
    }
    if (c.metadata.labels?.['cnpg-actions.io/retained']) continue;
    if (c.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'addon-sync') continue;
    if (!owned('Cluster', name)) problems.push(`Cluster ${name} has no association`);
  }
  for (const sb of s.list(SCHEDULED, NS).items)
    if (!owned('ScheduledBackup', sb.metadata.name))
      problems.push(`ScheduledBackup ${sb.metadata.name} has no association`);
  for (const sec of s.list('v1/secrets', NS, { labelSelector: 'cnpg-actions.io/component=credentials' }).items) {
    if (!owned('Secret', sec.metadata.name)) problems.push(`Secret ${sec.metadata.name} has no association`);
  }
  for (const app of opts.apps) {
    const sec: KubeObject | undefined = s.get('v1/secrets', app, `${app}-env`);
    const ownedKeys = JSON.parse(sec?.metadata.annotations?.[OWNED_KEYS_ANNOTATION] ?? '{}') as Record<
      string,
      string[]
    >;
    for (const [addon, keys] of Object.entries(ownedKeys)) {
      const a = assocs.find((x) => x.app === app && x.addon === addon);
      if (!a || a.status === 'error') problems.push(`env keys ${keys.join(',')} of ${app} have no live association`);
      else
        for (const k of keys)
          if (!(JSON.parse(a.injectedKeys) as string[]).includes(k))
            problems.push(`env key ${k} of ${app} not recorded`);
    }
  }
  const sharedCluster = s.get(CLUSTERS, NS, shared);
  if (sharedCluster?.status?.currentPrimary && sharedCluster.status.readyInstances > 0) {
    const dbs = await superuserQuery(bed, NS, shared, 'SELECT datname FROM pg_database');
    const roles = await superuserQuery(bed, NS, shared, "SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%'");
    const expected = new Set(sharedUsers.map((a) => sqlNameFor(a.app)));
    for (const r of dbs)
      if (!SYSTEM_DBS.has(r.datname as string) && !expected.has(r.datname as string))
        problems.push(`database ${r.datname} on the shared cluster has no association`);
    for (const r of roles)
      if (!SYSTEM_ROLES.has(r.rolname as string) && !expected.has(r.rolname as string))
        problems.push(`role ${r.rolname} on the shared cluster has no association`);
  }
  return problems;
}

/** `n` apps (namespace, Deployment, app.toml) on the shared variant: n databases and roles on one server. */
export function manyApps(bed: Bed, n: number, prefix = 'app'): string[] {
  const apps = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  for (const app of apps) {
    deployApp(bed, app);
    writeApp(bed, app, variantToml('shared'));
  }
  return apps;
}

/** The addon-sync bundle for benchmarks: ACTIONS_DIST, else dist/, else a private build (never dist/). */
export async function ensureAddonBundle(log: (line: string) => void): Promise<void> {
  const { existsSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { repoRoot } = await import('../helpers/run-action.js');
  for (const dir of [process.env.ACTIONS_DIST, join(repoRoot, 'dist')]) {
    if (dir && existsSync(join(dir, 'addon-sync', 'main.js'))) {
      process.env.ACTIONS_DIST = dir;
      return;
    }
  }
  const out = join(repoRoot, '.build', 'dist-bench-addons');
  if (!existsSync(join(out, 'addon-sync', 'main.js'))) {
    log(`building the addon-sync bundle into ${out}...`);
    execFileSync(
      process.execPath,
      [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, '.ci/build.ts'), out, '--only', 'addon-sync'],
      { stdio: 'inherit', cwd: repoRoot },
    );
  }
  process.env.ACTIONS_DIST = out;
}
