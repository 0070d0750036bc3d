// A "live" CNPG cluster in the playground for drills and gates: in-tree or Barman Cloud plugin
// backups into the playground bucket, sample data loaded through a TEST-ONLY writable
// connection, a completed Backup, and optionally more rows after it plus a WAL switch that is
// waited for in the archive. Reused by other test authors and the demo.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { KubeObject, PlaygroundHandle } from '../playground/types.js';
import { waitFor } from './wait.js';
export { waitFor };

export const CLUSTERS = 'postgresql.cnpg.io/v1/clusters';
export const BACKUPS = 'postgresql.cnpg.io/v1/backups';
export const OBJECT_STORES = 'barmancloud.cnpg.io/v1/objectstores';
const PLUGIN = 'barman-cloud.cloudnative-pg.io';

export type LiveMode = 'in-tree' | 'plugin';

export interface LiveClusterOptions {
  name: string;
  namespace?: string;
  mode?: LiveMode;
  /** Rows in the sample tables (customers = rows/5, orders = rows, events = rows/2). Default 1000. */
  rows?: number;
  /** Extra Cluster spec merged over the defaults (e.g. postgresql.parameters). */
  spec?: Record<string, unknown>;
  /** Take a backup once loaded (default true). */
  backup?: boolean;
  /** Rows added to `orders` after the backup, then a WAL switch waited for in the archive. */
  rowsAfterBackup?: number;
  readyTimeoutMs?: number;
}

export interface LiveCluster {
  name: string;
  namespace: string;
  mode: LiveMode;
  /** s3://bucket/prefix the cluster archives to. */
  destinationPath: string;
  /** Directory of the cluster's archive in s3rver's store (for fault injection). */
  serverName: string;
  /** Runs SQL as the app owner on the primary (TEST-ONLY writable session). */
  sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs SQL as the postgres superuser. */
  superSql<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
    database?: string,
  ): Promise<T[]>;
  /** Takes a Backup and waits for it to complete (default 120 s); returns the Backup object. */
  backup(name?: string, timeoutMs?: number): Promise<KubeObject>;
  /** Inserts rows into public.orders. */
  writeRows(n: number): Promise<void>;
  /** pg_switch_wal() and waits until that segment is archived. */
  switchWalAndWait(timeoutMs?: number): Promise<string>;
  /** Secret values a leak check should look for. */
  secrets(): string[];
  destroy(): Promise<void>;
}

export function isHealthy(c: KubeObject | undefined): boolean {
  const s = c?.status;
  return !!(
    s?.phase === 'Cluster in healthy state' &&
    s.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True') &&
    s.readyInstances === (c!.spec.instances ?? 1) &&
    s.currentPrimary === s.targetPrimary
  );
}

export function secretValue(pgd: PlaygroundHandle, namespace: string, name: string, key: string): string {
  const s = pgd.store.get('v1/secrets', namespace, name);
  if (!s) throw new Error(`secret ${namespace}/${name} not found`);
  if (s.stringData?.[key] !== undefined) return s.stringData[key];
  return Buffer.from(s.data[key], 'base64').toString();
}

export function ensureNamespace(pgd: PlaygroundHandle, namespace: string): void {
  if (!pgd.store.get('v1/namespaces', undefined, namespace)) {
    pgd.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  }
  if (namespace !== 'default' && !pgd.store.get('v1/secrets', namespace, pgd.env.PLAYGROUND_S3_SECRET)) {
    const src = pgd.store.get('v1/secrets', 'default', pgd.env.PLAYGROUND_S3_SECRET)!;
    pgd.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: src.metadata.name, namespace },
      type: 'Opaque',
      data: src.data,
      stringData: src.stringData,
    });
  }
}

/** The playground bucket store with the playground credentials Secret. */
export function playgroundStore(pgd: PlaygroundHandle, prefix: string): Record<string, unknown> {
  const secret = pgd.env.PLAYGROUND_S3_SECRET;
  return {
    destinationPath: `s3://${pgd.s3.bucket}/${prefix}`,
    endpointURL: pgd.s3.endpoint,
    s3Credentials: {
      accessKeyId: { name: secret, key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: secret, key: 'ACCESS_SECRET_KEY' },
    },
  };
}

export async function connectTo(
  pgd: PlaygroundHandle,
  namespace: string,
  cluster: string,
  user: 'app' | 'postgres',
  database = 'app',
): Promise<pg.Client> {
  const c = pgd.store.get(CLUSTERS, namespace, cluster);
  const pod = c?.status?.currentPrimary;
  if (!pod) throw new Error(`cluster ${namespace}/${cluster} has no primary`);
  const ep = pgd.network.resolve(namespace, pod, 5432);
  if (!ep) throw new Error(`pod ${namespace}/${pod} has no registered port 5432`);
  const secret = `${cluster}-${user === 'app' ? 'app' : 'superuser'}`;
  const client = new pg.Client({
    ...ep,
    user: secretValue(pgd, namespace, secret, 'username'),
    password: secretValue(pgd, namespace, secret, 'password'),
    database,
  });
  await client.connect();
  return client;
}

export const SAMPLE_SCHEMA = [
  `CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, created_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES public.customers(id), amount numeric(12,2) NOT NULL CHECK (amount >= 0), placed_at timestamptz DEFAULT now())`,
  `CREATE INDEX orders_customer_idx ON public.orders (customer_id)`,
  `CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text, payload jsonb)`,
  `CREATE VIEW public.order_totals AS SELECT customer_id, sum(amount) AS total FROM public.orders GROUP BY customer_id`,
  `CREATE SCHEMA sales`,
  `CREATE TABLE sales.regions (code text PRIMARY KEY, name text)`,
];

export async function loadSampleData(client: pg.Client, rows: number): Promise<void> {
  for (const stmt of SAMPLE_SCHEMA) await client.query(stmt);
  const customers = Math.max(1, Math.floor(rows / 5));
  await client.query(
    `INSERT INTO public.customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, $1) g`,
    [customers],
  );
  await client.query(
    `INSERT INTO public.orders (customer_id, amount) SELECT 1 + (g % $2), (g % 500) + 0.99 FROM generate_series(1, $1) g`,
    [rows, customers],
  );
  await client.query(
    `INSERT INTO public.events (kind, payload) SELECT 'k' || (g % 7), jsonb_build_object('n', g) FROM generate_series(1, $1) g`,
    [Math.floor(rows / 2)],
  );
  await client.query(`INSERT INTO sales.regions VALUES ('eu', 'Europe'), ('us', 'Americas'), ('ap', 'Asia Pacific')`);
  await client.query('ANALYZE');
}

export async function createLiveCluster(pgd: PlaygroundHandle, opts: LiveClusterOptions): Promise<LiveCluster> {
  const namespace = opts.namespace ?? 'default';
  const mode = opts.mode ?? 'in-tree';
  const name = opts.name;
  ensureNamespace(pgd, namespace);
  const prefix = `${name}-${randomBytes(3).toString('hex')}`;
  const store = playgroundStore(pgd, prefix);
  const storeName = `${name}-store`;
  if (mode === 'plugin') {
    pgd.store.create(OBJECT_STORES, {
      apiVersion: 'barmancloud.cnpg.io/v1',
      kind: 'ObjectStore',
      metadata: { name: storeName, namespace },
      spec: { configuration: store },
    });
  }
  const spec: Record<string, unknown> = {
    instances: 1,
    enableSuperuserAccess: true,
    storage: { size: '1Gi' },
    // A short archive_timeout bounds how stale the archive gets (drills replay to its end).
    postgresql: { parameters: { archive_timeout: '60s' } },
    ...(mode === 'in-tree'
      ? { backup: { barmanObjectStore: store } }
      : { plugins: [{ name: PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: storeName } }] }),
    ...(opts.spec ?? {}),
  };
  pgd.store.create(CLUSTERS, {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name, namespace },
    spec,
  });
  await waitFor(
    `cluster ${namespace}/${name} healthy`,
    () => isHealthy(pgd.store.get(CLUSTERS, namespace, name)),
    opts.readyTimeoutMs ?? 90_000,
  );

  const withClient = async <T>(
    user: 'app' | 'postgres',
    database: string,
    fn: (c: pg.Client) => Promise<T>,
  ): Promise<T> => {
    const c = await connectTo(pgd, namespace, name, user, database);
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  };
  let backups = 0;
  const live: LiveCluster = {
    name,
    namespace,
    mode,
    destinationPath: String(store.destinationPath),
    serverName: name,
    sql: (text, params) => withClient('app', 'app', async (c) => (await c.query(text, params)).rows),
    superSql: (text, params, database = 'app') =>
      withClient('postgres', database, async (c) => (await c.query(text, params)).rows),
    async backup(backupName, timeoutMs = 120_000) {
      const bname = backupName ?? `${name}-backup-${++backups}-${randomBytes(2).toString('hex')}`;
      pgd.store.create(BACKUPS, {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Backup',
        metadata: { name: bname, namespace },
        spec: {
          cluster: { name },
          ...(mode === 'plugin' ? { method: 'plugin', pluginConfiguration: { name: PLUGIN } } : {}),
        },
      });
      return waitFor(
        `backup ${bname} completed`,
        () => {
          const b = pgd.store.get(BACKUPS, namespace, bname);
          if (b?.status?.phase === 'failed') throw new Error(`backup ${bname} failed: ${b.status.error}`);
          return b?.status?.phase === 'completed' ? b : undefined;
        },
        timeoutMs,
        200,
      ).catch((err) => {
        const b = pgd.store.get(BACKUPS, namespace, bname);
        if (b?.status?.phase === 'failed') throw new Error(`backup ${bname} failed: ${b.status.error}`);
        throw err;
      });
    },
    async writeRows(n) {
      await live.sql(`INSERT INTO public.orders (customer_id, amount) SELECT 1, 1.00 FROM generate_series(1, $1)`, [n]);
    },
    async switchWalAndWait(timeoutMs = 60_000) {
      const [{ seg }] = await live.superSql<{ seg: string }>(`SELECT pg_walfile_name(pg_switch_wal()) AS seg`);
      await waitFor(
        `WAL ${seg} archived`,
        async () => {
          const [a] = await live.superSql<{ wal: string | null }>(
            `SELECT last_archived_wal AS wal FROM pg_stat_archiver`,
          );
          return a.wal && a.wal.slice(8) >= seg.slice(8) ? true : undefined;
        },
        timeoutMs,
        200,
      );
      return seg;
    },
    secrets() {
      const out: string[] = [];
      for (const s of [`${name}-app`, `${name}-superuser`]) {
        try {
          out.push(secretValue(pgd, namespace, s, 'password'));
        } catch {
          /* not there */
        }
      }
      out.push(pgd.s3.secretAccessKey);
      return out;
    },
    async destroy() {
      pgd.store.delete(CLUSTERS, namespace, name, { propagationPolicy: 'Foreground' });
      await waitFor(
        `cluster ${name} gone`,
        () =>
          !pgd.store.get(CLUSTERS, namespace, name) &&
          pgd.store.list('v1/pods', namespace, { labelSelector: `cnpg.io/cluster=${name}` }).items.length === 0,
        60_000,
        200,
      );
      for (const b of pgd.store.list(BACKUPS, namespace).items.filter((x) => x.spec?.cluster?.name === name))
        pgd.store.delete(BACKUPS, namespace, b.metadata.name);
      if (mode === 'plugin') pgd.store.delete(OBJECT_STORES, namespace, storeName);
    },
  };
  await withClient('app', 'app', (c) => loadSampleData(c, opts.rows ?? 1000));
  if (opts.backup !== false) {
    await live.backup();
    if (opts.rowsAfterBackup) {
      await live.writeRows(opts.rowsAfterBackup);
      await live.switchWalAndWait();
    }
  }
  return live;
}
