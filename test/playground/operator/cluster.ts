// Cluster reconciler: secrets, services, the primary's PVC + bootstrap Job + pod, replicas
// (join Jobs), and the status CNPG reports (phase, conditions, instances, primary, timeline...).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER, L, getCondition, ownerRef, patchStatus, setCondition, surfacesFailedJobs, upsert } from './context.js';
import { ensureSecrets } from './secrets.js';
import { ensureServices } from './services.js';
import { ensurePvc, resizePvc } from './volumes.js';
import type { JobRole, JobRunner } from './jobs.js';
import type { Kubelet } from './kubelet.js';
import { runInitdb, runJoin } from './bootstrap.js';
import { runFullRecovery } from './recovery.js';
import { clusterArchive, ConfigError } from './objectstore.js';
import { quantityBytes } from './webhook.js';
import { reconcileManagedRoles } from './roles.js';
import { mapImage } from '../../helpers/postgres-install.js';

export const PHASE = {
  settingUp: 'Setting up primary',
  newReplica: 'Creating a new replica',
  healthy: 'Cluster in healthy state',
  waiting: 'Waiting for the instances to become active',
  unrecoverable: 'Cluster is unrecoverable and needs manual intervention',
} as const;

const serial = (instanceName: string) => Number(instanceName.split('-').pop());

type JobState = 'none' | 'running' | 'complete' | 'failed';
function jobState(job: KubeObject | undefined): JobState {
  if (!job) return 'none';
  const c = (job.status?.conditions ?? []) as Array<{ type: string; status: string }>;
  if (c.some((x) => x.type === 'Complete' && x.status === 'True')) return 'complete';
  if (c.some((x) => x.type === 'Failed' && x.status === 'True')) return 'failed';
  return 'running';
}

export class ClusterController {
  private readonly appliedGeneration = new Map<string, number>();

  constructor(
    private readonly ctx: Ctx,
    private readonly kubelet: Kubelet,
    private readonly jobs: JobRunner,
  ) {}

  async reconcile(ns: string, name: string): Promise<number | void> {
    const { store } = this.ctx;
    const cluster = store.get(GVR.cluster, ns, name);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    ensureSecrets(this.ctx, cluster);
    ensureServices(this.ctx, cluster);

    // First sight: choose the primary's name once, as CNPG records latestGeneratedNode.
    let status = cluster.status ?? {};
    if (!status.latestGeneratedNode) {
      status =
        patchStatus(store, GVR.cluster, cluster, (s) => {
          s.latestGeneratedNode = 1;
          s.targetPrimary = `${name}-1`;
          s.phase = PHASE.settingUp;
          s.phaseReason = `Creating primary instance ${name}-1`;
          s.image = cluster.spec?.imageName;
          s.writeService = `${name}-rw`;
          s.readService = `${name}-r`;
          s.instances = 0;
          s.readyInstances = 0;
        })?.status ?? status;
      // The installed server stands in for the image's major: say so where kubectl shows it.
      const pgNote = mapImage(cluster.spec?.imageName).message;
      if (pgNote) store.recordEvent(cluster, 'Normal', 'PostgresMajorMapped', pgNote);
      if (pgNote) this.ctx.logs.append(ns, `${name}-1`, 'postgres', `operator: ${pgNote}\n`);
    }
    const primary: string = status.targetPrimary;
    const desired: number = cluster.spec?.instances ?? 1;
    const pvcs = store.list(GVR.pvc, ns, { labelSelector: `${L.cluster}=${name}` }).items.filter((p) => p.metadata.labels?.[L.pvcRole] === 'PG_DATA');
    const pods = store.list(GVR.pod, ns, { labelSelector: `${L.cluster}=${name},${L.podRole}=instance` }).items;
    const podNames = new Set(pods.map((p) => p.metadata.name));

    let phase: string | undefined;
    let phaseReason = '';

    // --- the primary
    const bootstrapRole: JobRole = cluster.spec?.bootstrap?.recovery ? 'full-recovery' : 'initdb';
    const bootstrapJob = store.get(GVR.job, ns, this.jobs.jobName(primary, bootstrapRole));
    const bootstrapped = jobState(bootstrapJob) === 'complete' || !!status.currentPrimary;
    if (!pvcs.some((p) => p.metadata.name === primary) && !bootstrapped) ensurePvc(this.ctx, cluster, primary);
    if (!bootstrapped) {
      const state = jobState(bootstrapJob);
      if (state === 'none') {
        this.jobs.ensure(cluster, primary, bootstrapRole, (io) => {
          const current = store.get(GVR.cluster, ns, name);
          if (!current) throw new Error('cluster deleted');
          return bootstrapRole === 'initdb' ? runInitdb(this.ctx, current, io) : runFullRecovery(this.ctx, current, io);
        });
      }
      phase = PHASE.settingUp;
      phaseReason = `Creating primary instance ${primary}`;
      if (state === 'failed' && surfacesFailedJobs(this.ctx.settings.version)) {
        phase = PHASE.unrecoverable;
        phaseReason = `Instance creation failed for the following jobs: ${bootstrapJob!.metadata.name}. Check the job logs to investigate the cause of the failure.`;
      }
    } else if (!podNames.has(primary)) {
      this.createPod(cluster, primary, 'primary');
    }

    const primaryReady = this.kubelet.isReady(ns, primary);
    if (bootstrapped && !status.currentPrimary && !primaryReady) {
      phase = PHASE.settingUp;
      phaseReason = `Creating primary instance ${primary}`;
    }

    // --- replicas (only from a running primary, like CNPG's join jobs)
    let latest: number = status.latestGeneratedNode ?? 1;
    const replicaPvcs = pvcs.filter((p) => p.metadata.name !== primary).sort((a, b) => serial(a.metadata.name) - serial(b.metadata.name));
    if (primaryReady && status.currentPrimary) {
      let count = pvcs.length;
      while (count < desired) {
        latest += 1;
        const inst = `${name}-${latest}`;
        ensurePvc(this.ctx, cluster, inst);
        replicaPvcs.push({ metadata: { name: inst } } as KubeObject);
        count++;
      }
      for (const pvc of replicaPvcs) {
        const inst = pvc.metadata.name;
        if (podNames.has(inst)) continue;
        const job = store.get(GVR.job, ns, this.jobs.jobName(inst, 'join'));
        const state = jobState(job);
        if (state === 'none' && !this.hadPod(cluster, inst)) {
          this.jobs.ensure(cluster, inst, 'join', (io) => {
            const p = this.kubelet.instance(ns, primary);
            if (!p) throw new Error(`primary ${primary} is not ready`);
            return runJoin(io, p);
          });
          phase ??= PHASE.newReplica;
          phaseReason ||= `Creating replica ${inst}`;
        } else if (state === 'complete' || (state === 'none' && this.hadPod(cluster, inst))) {
          this.createPod(cluster, inst, 'replica');
        } else if (state === 'failed') {
          if (surfacesFailedJobs(this.ctx.settings.version)) {
            phase = PHASE.unrecoverable;
            phaseReason = `Instance creation failed for the following jobs: ${job!.metadata.name}. Check the job logs to investigate the cause of the failure.`;
          } else phase ??= PHASE.newReplica;
        } else {
          phase ??= PHASE.newReplica;
          phaseReason ||= `Creating replica ${inst}`;
        }
      }
      // scale down: the highest serial replicas go first
      const extra = pvcs.length - desired;
      if (extra > 0) {
        for (const pvc of replicaPvcs.slice(-extra)) {
          store.delete(GVR.pod, ns, pvc.metadata.name);
          store.delete(GVR.pvc, ns, pvc.metadata.name);
          const job = store.get(GVR.job, ns, this.jobs.jobName(pvc.metadata.name, 'join'));
          if (job) store.delete(GVR.job, ns, job.metadata.name, { propagationPolicy: 'Background' });
        }
      }
    }

    // --- volumes follow spec.storage.size (grow only)
    for (const pvc of pvcs) resizePvc(this.ctx, cluster, pvc, quantityBytes);

    // --- configuration changes reach running instances
    const gen = cluster.metadata.generation ?? 0;
    if (this.appliedGeneration.get(`${ns}/${name}`) !== gen) {
      try {
        for (const p of pods) await this.kubelet.reconfigure(ns, p.metadata.name, cluster);
        this.appliedGeneration.set(`${ns}/${name}`, gen);
      } catch (err) {
        this.ctx.logs.append(ns, primary, 'postgres', `operator: cannot apply configuration: ${(err as Error).message}\n`);
      }
    }

    // --- observed state
    const instancePods = store.list(GVR.pod, ns, { labelSelector: `${L.cluster}=${name},${L.podRole}=instance` }).items.filter((p) => !p.metadata.deletionTimestamp);
    const names = instancePods.map((p) => p.metadata.name).sort((a, b) => serial(a) - serial(b));
    const ready = names.filter((n) => this.kubelet.isReady(ns, n));
    const notReady = names.filter((n) => !ready.includes(n));
    const primaryInstance = this.kubelet.instance(ns, primary);
    const facts = primaryInstance ? await this.primaryFacts(primaryInstance).catch(() => undefined) : undefined;
    const archive = this.archiveCondition(cluster, facts?.archiver);
    if (primaryInstance) await reconcileManagedRoles(this.ctx, cluster, primaryInstance).catch(() => undefined);

    if (!phase) {
      if (!primaryReady && !status.currentPrimary) phase = PHASE.settingUp;
      else if (notReady.length > 0 || ready.length < desired) {
        phase = PHASE.waiting;
        phaseReason = notReady.length ? `Instance ${notReady.join(', ')} is not ready` : 'Waiting for instances';
      } else phase = PHASE.healthy;
    }
    const healthy = phase === PHASE.healthy;

    patchStatus(store, GVR.cluster, cluster, (s) => {
      s.phase = phase;
      s.phaseReason = healthy ? '' : phaseReason;
      s.latestGeneratedNode = Math.max(latest, s.latestGeneratedNode ?? 1);
      s.instances = names.length;
      s.readyInstances = ready.length;
      s.instanceNames = names;
      s.instancesStatus = { ...(ready.length ? { healthy: ready } : {}), ...(notReady.length ? { failed: notReady } : {}) };
      s.targetPrimary = primary;
      if (primaryReady) s.currentPrimary = primary;
      s.image = cluster.spec?.imageName;
      s.writeService = `${name}-rw`;
      s.readService = `${name}-r`;
      s.healthyPVC = pvcs.map((p) => p.metadata.name).sort();
      if (facts) {
        s.timelineID = facts.timeline;
        s.systemID = facts.systemID;
      }
      setCondition(s, healthy ? { type: 'Ready', status: 'True', reason: 'ClusterIsReady', message: 'Cluster is Ready' } : { type: 'Ready', status: 'False', reason: 'ClusterIsNotReady', message: 'Cluster Is Not Ready' });
      if (archive) setCondition(s, archive);
      else if (!clusterArchiveConfigured(cluster)) s.conditions = (s.conditions ?? []).filter((c: { type: string }) => c.type !== 'ContinuousArchiving');
      if (facts) setCondition(s, { type: 'ConsistentSystemID', status: 'True', reason: 'Unique', message: 'A single, unique system ID was found across reporting instances.' });
    });
    return healthy ? 3000 : 1000;
  }

  /** A replica whose pod existed once (so its data is there) is recreated without a new join. */
  private hadPod(cluster: KubeObject, inst: string): boolean {
    return (cluster.status?.instanceNames ?? []).includes(inst);
  }

  private createPod(cluster: KubeObject, inst: string, role: 'primary' | 'replica'): void {
    const name = cluster.metadata.name;
    upsert(this.ctx.store, GVR.pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: inst,
        namespace: cluster.metadata.namespace,
        labels: { [L.cluster]: name, [L.instanceName]: inst, [L.podRole]: 'instance', [L.instanceRole]: role, role },
        annotations: { 'cnpg.io/nodeSerial': String(serial(inst)), 'cnpg.io/operatorVersion': this.ctx.settings.version },
        finalizers: [KUBELET_FINALIZER],
        ownerReferences: [ownerRef(cluster)],
      },
      spec: {
        hostname: inst,
        subdomain: `${name}-any`,
        nodeName: 'playground',
        restartPolicy: 'Always',
        containers: [
          {
            name: 'postgres',
            image: cluster.spec?.imageName,
            command: ['/controller/manager', 'instance', 'run'],
            ports: [
              { containerPort: 5432, name: 'postgresql', protocol: 'TCP' },
              { containerPort: 9187, name: 'metrics', protocol: 'TCP' },
              { containerPort: 8000, name: 'status', protocol: 'TCP' },
            ],
          },
        ],
        volumes: [{ name: 'pgdata', persistentVolumeClaim: { claimName: inst } }],
      },
      status: { phase: 'Pending' },
    });
  }

  private async primaryFacts(inst: import('./instance.js').PgInstance) {
    const [row] = await inst.query<{ wal: string; sysid: string; failed_count: string; archived_count: string; last_archived_time: Date | null; last_failed_time: Date | null; last_failed_wal: string | null; last_archived_wal: string | null }>(
      `SELECT pg_walfile_name(pg_current_wal_lsn()) AS wal, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, a.*
       FROM pg_stat_archiver a`,
    );
    return { timeline: parseInt(row.wal.slice(0, 8), 16), systemID: row.sysid, archiver: row };
  }

  /** ContinuousArchiving from the real pg_stat_archiver: failing when the last failure is newer. */
  private archiveCondition(cluster: KubeObject, a: any): import('./context.js').Condition | undefined {
    if (!a || !clusterArchiveConfigured(cluster)) return undefined;
    try {
      clusterArchive(this.ctx, cluster);
    } catch (err) {
      if (err instanceof ConfigError) return { type: 'ContinuousArchiving', status: 'False', reason: 'ContinuousArchivingFailing', message: err.message };
    }
    const failedAt = a.last_failed_time ? new Date(a.last_failed_time).getTime() : 0;
    const okAt = a.last_archived_time ? new Date(a.last_archived_time).getTime() : 0;
    if (Number(a.failed_count) > 0 && failedAt >= okAt) {
      return { type: 'ContinuousArchiving', status: 'False', reason: 'ContinuousArchivingFailing', message: `unexpected failure invoking barman-cloud-wal-archive: exit status 1 (WAL ${a.last_failed_wal})` };
    }
    if (Number(a.archived_count) > 0) return { type: 'ContinuousArchiving', status: 'True', reason: 'ContinuousArchivingSuccess', message: 'Continuous archiving is working' };
    return getCondition(cluster, 'ContinuousArchiving');
  }
}

function clusterArchiveConfigured(cluster: KubeObject): boolean {
  return !!cluster.spec?.backup?.barmanObjectStore || (cluster.spec?.plugins ?? []).some((p: any) => p.isWALArchiver && p.enabled !== false);
}
