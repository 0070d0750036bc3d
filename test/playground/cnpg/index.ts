// The CNPG operator emulator: CRDs, webhooks, and controllers reconciling through the Store
// in-process; the runtime (runtime.ts) executes CNPG's pods with real PostgreSQL processes and
// real barman-cloud against the S3 store.
import type { ContainerRuntimes } from '../apiserver/controllers/runtimes.js';
import type { KubeObject, OperatorHandle, OperatorSettings, PodLogs, PodNetwork, S3Handle, Store } from '../types.js';
import { Barman } from './barman.js';
import { BackupController } from './backup-controller.js';
import { ClusterController } from './cluster-controller.js';
import { GVR, L, type Ctx } from './context.js';
import { installCrds } from './crd-definitions.js';
import { DatabaseController } from './database-controller.js';
import { ProcessGroup } from './proc.js';
import { startRuntime, type CnpgRuntime } from './runtime.js';
import { ScheduledBackupController } from './scheduledbackup-controller.js';
import { installWebhooks } from './webhook.js';
import { informer, WorkQueue } from './workqueue.js';
import type { Timing } from '../timing.js';

const split = (k: string) => {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)] as const;
};
const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export interface OperatorOptions {
  store: Store;
  runtimes: ContainerRuntimes;
  network: PodNetwork;
  logs: PodLogs;
  s3: S3Handle;
  dataDir: string;
  settings: OperatorSettings;
  /** When requeues and instance starts happen (timing.ts). */
  timing: Timing;
}

type Queue = (name: string, fn: (ns: string, n: string) => Promise<number | void>) => WorkQueue;

/** The controllers and the informers feeding their queues; returns the informers' stops. */
function startControllers(ctx: Ctx, runtime: CnpgRuntime, queue: Queue, clusters: WorkQueue): Array<() => void> {
  const { store } = ctx;
  const backupCtl = new BackupController(ctx, runtime.instances);
  const backups = queue('backup', (ns, n) => backupCtl.reconcile(ns, n));
  const scheduledCtl = new ScheduledBackupController(ctx);
  const scheduled = queue('scheduledbackup', (ns, n) => scheduledCtl.reconcile(ns, n));
  const databaseCtl = new DatabaseController(ctx, runtime.instances);
  const databases = queue('database', (ns, n) => databaseCtl.reconcile(ns, n));
  const kickOwner = (o: KubeObject) => {
    const c = o.metadata.labels?.[L.cluster];
    if (c) clusters.add(`${o.metadata.namespace}/${c}`);
  };
  const kickNamespace = (ns: string | undefined) => {
    for (const c of store.list(GVR.cluster, ns).items) clusters.add(keyOf(c));
  };
  return [
    informer(store, GVR.cluster, (ev) => ev.type !== 'DELETED' && clusters.add(keyOf(ev.object))),
    informer(store, GVR.pod, (ev) => {
      runtime.onPod(ev.object, ev.type === 'DELETED');
      kickOwner(ev.object);
    }),
    informer(store, GVR.job, (ev) => kickOwner(ev.object)),
    informer(store, GVR.backup, (ev) => ev.type !== 'DELETED' && backups.add(keyOf(ev.object))),
    informer(store, GVR.scheduledBackup, (ev) => ev.type !== 'DELETED' && scheduled.add(keyOf(ev.object))),
    informer(store, GVR.database, (ev) => ev.type !== 'DELETED' && databases.add(keyOf(ev.object))),
    // Credentials and object stores feed archive_command and role passwords.
    informer(store, GVR.secret, (ev) => ev.type !== 'ADDED' && kickNamespace(ev.object.metadata.namespace)),
    informer(store, GVR.objectStore, (ev) => ev.type !== 'ADDED' && kickNamespace(ev.object.metadata.namespace)),
    // Image catalogs feed status.image (cluster_image.go watches both kinds).
    informer(store, GVR.imageCatalog, (ev) => kickNamespace(ev.object.metadata.namespace)),
    informer(store, GVR.clusterImageCatalog, () => kickNamespace(undefined)),
  ];
}

export async function startOperator(opts: OperatorOptions): Promise<OperatorHandle> {
  const procs = new ProcessGroup();
  const queues: WorkQueue[] = [];
  const onError = (name: string, k: string, err: unknown) => {
    if (!ctx.stopping && process.env.PLAYGROUND_DEBUG) console.error(`[operator] ${name} ${k}:`, err);
  };
  const queue: Queue = (name, fn) => {
    const q = new WorkQueue(name, (k) => fn(...split(k)), onError, opts.timing);
    queues.push(q);
    return q;
  };
  let clusters: WorkQueue | undefined;
  const ctx: Ctx = {
    ...opts,
    procs,
    barman: new Barman(procs),
    stopping: false,
    kickCluster: (ns, name) => clusters?.add(`${ns}/${name}`),
  };

  await ctx.barman.warm(opts.dataDir);
  await installCrds(ctx);
  installWebhooks(ctx);
  const runtime = startRuntime(ctx, opts.store, opts.runtimes);
  const clusterCtl = new ClusterController(ctx, runtime.instances);
  clusters = queue('cluster', (ns, n) => clusterCtl.reconcile(ns, n));
  const stops = startControllers(ctx, runtime, queue, clusters);

  let stopped: Promise<void> | undefined;
  return {
    settings: opts.settings,
    stop() {
      stopped ??= (async () => {
        ctx.stopping = true;
        for (const s of stops) s();
        await runtime.stop();
        await procs.stopAll(); // barman runs still in flight end here, so the queues drain
        await Promise.all(queues.map((q) => q.stop()));
      })();
      return stopped;
    },
  };
}
