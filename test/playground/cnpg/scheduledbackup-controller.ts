// ScheduledBackups: six-field cron (seconds first), `immediate`, `suspend`, and child Backups
// `<name>-<YYYYMMDDhhmmss>` labelled with the cluster and the schedule.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, now, ownerRef, patchStatus } from './context.js';
import { parseSchedule } from './webhook-backup.js';

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ScheduledBackupController {
  constructor(private readonly ctx: Ctx) {}

  async reconcile(ns: string, name: string): Promise<number | void> {
    const { store } = this.ctx;
    const sb = store.get(GVR.scheduledBackup, ns, name);
    if (!sb || sb.metadata.deletionTimestamp) return;
    if (sb.spec?.suspend) return;
    const cluster = store.get(GVR.cluster, ns, sb.spec?.cluster?.name);
    if (!cluster) return 5000;
    const current = new Date();
    const status = sb.status ?? {};
    if (!status.lastCheckTime) {
      const first = sb.spec?.immediate ? this.createBackup(sb, cluster, current) : undefined;
      const next = parseSchedule(sb.spec.schedule, current).next().toDate();
      patchStatus(store, GVR.scheduledBackup, sb, (s) => {
        s.lastCheckTime = iso(current);
        if (first) s.lastScheduleTime = iso(current);
        s.nextScheduleTime = iso(next);
      });
      return Math.max(50, next.getTime() - Date.now());
    }
    const due = parseSchedule(sb.spec.schedule, new Date(status.lastCheckTime)).next().toDate();
    if (due.getTime() <= current.getTime()) {
      this.createBackup(sb, cluster, due);
      const next = parseSchedule(sb.spec.schedule, current).next().toDate();
      patchStatus(store, GVR.scheduledBackup, sb, (s) => {
        s.lastCheckTime = iso(current);
        s.lastScheduleTime = iso(due);
        s.nextScheduleTime = iso(next);
      });
      return Math.max(50, next.getTime() - Date.now());
    }
    return Math.max(50, due.getTime() - Date.now());
  }

  private createBackup(sb: KubeObject, cluster: KubeObject, at: Date): KubeObject | undefined {
    const owner = sb.spec?.backupOwnerReference ?? 'none';
    const refs = owner === 'self' ? [ownerRef(sb)] : owner === 'cluster' ? [ownerRef(cluster)] : undefined;
    const name = `${sb.metadata.name}-${stamp(at)}`;
    if (this.ctx.store.get(GVR.backup, sb.metadata.namespace, name)) return undefined;
    return this.ctx.store.create(GVR.backup, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: {
        name,
        namespace: sb.metadata.namespace,
        labels: { [L.cluster]: cluster.metadata.name, [L.scheduledBackup]: sb.metadata.name },
        annotations: { 'cnpg.io/operatorVersion': this.ctx.settings.version, 'playground.cnpg.io/scheduledAt': now() },
        ...(refs ? { ownerReferences: refs } : {}),
      },
      spec: {
        cluster: { name: cluster.metadata.name },
        method: sb.spec?.method ?? 'barmanObjectStore',
        ...(sb.spec?.pluginConfiguration ? { pluginConfiguration: sb.spec.pluginConfiguration } : {}),
        ...(sb.spec?.target ? { target: sb.spec.target } : {}),
        ...(sb.spec?.online !== undefined ? { online: sb.spec.online } : {}),
      },
    });
  }
}
