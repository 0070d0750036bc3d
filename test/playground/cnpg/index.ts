// The CNPG operator emulator: CRDs, webhooks, and controllers reconciling through the Store
// in-process, with real PostgreSQL processes and real barman-cloud against the S3 store.
import type { KubeObject, OperatorHandle, OperatorSettings, PodLogs, PodNetwork, S3Handle, Store } from '../types.js';
import { Barman } from './barman.js';
import { BackupController } from './backup.js';
import { ClusterController } from './cluster.js';
import { GVR, L, type Ctx } from './context.js';
import { installCrds } from './crds.js';
import { DatabaseController } from './database.js';
import { JobRunner } from './jobs.js';
import { Kubelet } from './kubelet.js';
import { ProcessGroup } from './proc.js';
import { informer, WorkQueue } from './queue.js';
import { ScheduledBackupController } from './scheduled.js';
import { installWebhooks } from './webhook.js';

const split = (k: string) => {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)] as const;
};
const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export async function startOperator(opts: { store: Store; network: PodNetwork; logs: PodLogs; s3: S3Handle; dataDir: string; settings: OperatorSettings }): Promise<OperatorHandle> {
  const procs = new ProcessGroup();
  const queues: WorkQueue[] = [];
  const onError = (name: string, k: string, err: unknown) => {
    if (!ctx.stopping && process.env.PLAYGROUND_DEBUG) console.error(`[operator] ${name} ${k}:`, err);
  };
  const queue = (name: string, fn: (ns: string, n: string) => Promise<number | void>) => {
    const q = new WorkQueue(name, (k) => fn(...split(k)), onError);
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

  await installCrds(ctx);
  installWebhooks(ctx);

  const kubelet = new Kubelet(ctx);
  const jobs = new JobRunner(ctx);
  const clusterCtl = new ClusterController(ctx, kubelet, jobs);
  clusters = queue('cluster', (ns, n) => clusterCtl.reconcile(ns, n));
  const backupCtl = new BackupController(ctx, kubelet);
  const backups = queue('backup', (ns, n) => backupCtl.reconcile(ns, n));
  const scheduledCtl = new ScheduledBackupController(ctx);
  const scheduled = queue('scheduledbackup', (ns, n) => scheduledCtl.reconcile(ns, n));
  const databaseCtl = new DatabaseController(ctx, kubelet);
  const databases = queue('database', (ns, n) => databaseCtl.reconcile(ns, n));

  const kickNamespace = (ns: string | undefined) => {
    for (const c of opts.store.list(GVR.cluster, ns).items) clusters!.add(keyOf(c));
  };
  const stops = [
    informer(opts.store, GVR.cluster, (ev) => ev.type !== 'DELETED' && clusters!.add(keyOf(ev.object))),
    informer(opts.store, GVR.pod, (ev) => {
      const pod = ev.object;
      const labels = pod.metadata.labels ?? {};
      if (labels[L.podRole] === 'instance') kubelet.onPod(pod, ev.type === 'DELETED');
      else if (labels[L.jobRole] && pod.metadata.deletionTimestamp) void jobs.onPodDeleting(pod);
      if (labels[L.cluster]) clusters!.add(`${pod.metadata.namespace}/${labels[L.cluster]}`);
    }),
    informer(opts.store, GVR.job, (ev) => {
      const c = ev.object.metadata.labels?.[L.cluster];
      if (c) clusters!.add(`${ev.object.metadata.namespace}/${c}`);
    }),
    informer(opts.store, GVR.backup, (ev) => ev.type !== 'DELETED' && backups.add(keyOf(ev.object))),
    informer(opts.store, GVR.scheduledBackup, (ev) => ev.type !== 'DELETED' && scheduled.add(keyOf(ev.object))),
    informer(opts.store, GVR.database, (ev) => ev.type !== 'DELETED' && databases.add(keyOf(ev.object))),
    // Credentials and object stores feed archive_command and role passwords.
    informer(opts.store, GVR.secret, (ev) => ev.type !== 'ADDED' && kickNamespace(ev.object.metadata.namespace)),
    informer(opts.store, GVR.objectStore, (ev) => ev.type !== 'ADDED' && kickNamespace(ev.object.metadata.namespace)),
  ];

  let stopped: Promise<void> | undefined;
  return {
    settings: opts.settings,
    stop() {
      stopped ??= (async () => {
        ctx.stopping = true;
        for (const s of stops) s();
        await jobs.stop();
        await kubelet.stop();
        await procs.stopAll(); // barman runs still in flight end here, so the queues drain
        await Promise.all(queues.map((q) => q.stop()));
      })();
      return stopped;
    },
  };
}
