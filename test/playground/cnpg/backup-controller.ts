// Backup CRs: a real barman-cloud-backup of the primary (in-tree or through the Barman Cloud
// plugin's ObjectStore), phases pending -> started -> running -> completed|failed, and the
// recoverability window on the Cluster (in-tree) or the ObjectStore (plugin).
import type { KubeObject } from '../types.js';
import type { BarmanBackupInfo, BarmanTarget } from './barman.js';
import type { Ctx } from './context.js';
import { GVR, PLUGIN_NAME, key, now, patchStatus, setCondition } from './context.js';
import type { InstanceManager } from './instance-manager.js';
import { ConfigError, objectStoreConfig, toTarget, walArchiverPlugin } from './objectstore.js';

const TERMINAL = new Set(['completed', 'failed']);

/** barman-cloud-backup-list prints ctime-style local times ("Sun Nov 22 00:36:24 2026"). */
export const barmanTime = (t: string | undefined) => (t ? new Date(t).getTime() : NaN);
export const barmanToIso = (t: string | undefined) => {
  const ms = barmanTime(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
};

interface Resolved {
  target: BarmanTarget;
  mode: 'in-tree' | 'plugin';
  objectStoreName?: string;
}

function resolve(ctx: Ctx, backup: KubeObject, cluster: KubeObject): Resolved {
  const ns = backup.metadata.namespace!;
  if (backup.spec?.method === 'plugin') {
    const pc = backup.spec.pluginConfiguration ?? {};
    if (pc.name !== PLUGIN_NAME) throw new ConfigError(`unknown plugin ${pc.name}`);
    const params = { ...(walArchiverPlugin(cluster)?.parameters ?? {}), ...(pc.parameters ?? {}) };
    if (!params.barmanObjectName) throw new ConfigError('missing barmanObjectName parameter');
    const { spec } = objectStoreConfig(ctx, ns, params.barmanObjectName);
    return {
      target: toTarget(ctx, ns, spec, params.serverName || cluster.metadata.name),
      mode: 'plugin',
      objectStoreName: params.barmanObjectName,
    };
  }
  if (backup.spec?.method === 'volumeSnapshot')
    throw new ConfigError('cannot proceed with the backup: volume snapshots are not supported by the playground');
  const store = cluster.spec?.backup?.barmanObjectStore;
  if (!store) throw new ConfigError('cannot proceed with the backup as the cluster has no backup section');
  return { target: toTarget(ctx, ns, store, store.serverName || cluster.metadata.name), mode: 'in-tree' };
}

export class BackupController {
  private readonly running = new Set<string>();

  constructor(
    private readonly ctx: Ctx,
    private readonly kubelet: InstanceManager,
  ) {}

  async reconcile(ns: string, name: string): Promise<number | void> {
    const { store } = this.ctx;
    const backup = store.get(GVR.backup, ns, name);
    if (
      !backup ||
      backup.metadata.deletionTimestamp ||
      TERMINAL.has(backup.status?.phase) ||
      this.running.has(key(ns, name))
    )
      return;
    const cluster = store.get(GVR.cluster, ns, backup.spec?.cluster?.name);
    if (!cluster) return this.fail(backup, undefined, 'Unknown cluster');
    let resolved: Resolved;
    try {
      resolved = resolve(this.ctx, backup, cluster);
    } catch (err) {
      return this.fail(backup, cluster, (err as Error).message);
    }
    const primaryName = cluster.status?.currentPrimary;
    const primary = primaryName ? this.kubelet.instance(ns, primaryName) : undefined;
    if (!primary) {
      patchStatus(store, GVR.backup, backup, (s) => {
        s.phase = 'pending';
      });
      return 1000; // CNPG waits for a ready target instance
    }
    this.running.add(key(ns, name));
    try {
      await this.run(backup, cluster, resolved, primaryName!, primary);
    } finally {
      this.running.delete(key(ns, name));
    }
  }

  private async run(
    backup: KubeObject,
    cluster: KubeObject,
    r: Resolved,
    podName: string,
    primary: { socketDir: string; port: number },
  ): Promise<void> {
    const { store, barman } = this.ctx;
    const ns = backup.metadata.namespace!;
    const t = r.target;
    patchStatus(store, GVR.backup, backup, (s) => {
      s.phase = 'started';
      s.startedAt = now();
      s.method = backup.spec?.method ?? 'barmanObjectStore';
      s.destinationPath = t.destinationPath;
      if (t.endpointURL) s.endpointURL = t.endpointURL;
      s.serverName = t.serverName;
      s.instanceID = { podName, ContainerID: 'playground://postgres' };
      s.backupName = backup.metadata.name;
      if (r.mode === 'plugin') s.pluginMetadata = { objectStoreName: r.objectStoreName };
    });
    const log = (text: string) => this.ctx.logs.append(ns, podName, 'postgres', text);
    let before: Set<string>;
    try {
      before = new Set((await barman.listBackups(t)).map((b) => b.backup_id));
    } catch (err) {
      return void this.fail(backup, cluster, `can't list backups: ${(err as Error).message}`, r);
    }
    patchStatus(store, GVR.backup, backup, (s) => {
      s.phase = 'running';
    });
    log(`Starting barman-cloud-backup for ${backup.metadata.name}\n`);
    const res = await barman.backup(t, primary, log);
    if (res.code !== 0) {
      const tail = res.stderr.trim().split('\n').slice(-3).join('\n');
      return void this.fail(
        backup,
        cluster,
        `encountered an error while taking the backup: exit status ${res.code}${tail ? `: ${tail}` : ''}`,
        r,
      );
    }
    let list: BarmanBackupInfo[];
    try {
      list = await barman.listBackups(t);
    } catch (err) {
      return void this.fail(backup, cluster, `can't list backups: ${(err as Error).message}`, r);
    }
    const info = list.filter((b) => !before.has(b.backup_id) && b.status === 'DONE').pop();
    if (!info) return void this.fail(backup, cluster, 'backup not found in the catalog after barman-cloud-backup', r);
    const stoppedAt = completed(store, backup, info);
    const done = list
      .filter((b) => b.status === 'DONE')
      .sort((a, b) => barmanTime(a.end_time) - barmanTime(b.end_time));
    const first = barmanToIso(done[0]?.end_time);
    this.recordOutcome(cluster, r, { ok: true, at: stoppedAt, first });
  }

  private fail(backup: KubeObject, cluster: KubeObject | undefined, message: string, r?: Resolved): void {
    patchStatus(this.ctx.store, GVR.backup, backup, (s) => {
      s.phase = 'failed';
      s.error = message;
      s.stoppedAt = now();
    });
    this.ctx.store.recordEvent(backup, 'Warning', 'Error', `Backup failed: ${message}`);
    if (cluster) this.recordOutcome(cluster, r, { ok: false, at: now(), message });
  }

  private recordOutcome(
    cluster: KubeObject,
    r: Resolved | undefined,
    o: { ok: boolean; at: string; first?: string; message?: string },
  ): void {
    const { store } = this.ctx;
    patchStatus(store, GVR.cluster, cluster, (s) => {
      if (r?.mode !== 'plugin') {
        if (o.ok) setBackupTimes(s, 'barmanObjectStore', o.first, o.at);
        else s.lastFailedBackup = o.at;
      }
      setCondition(
        s,
        o.ok
          ? { type: 'LastBackupSucceeded', status: 'True', reason: 'LastBackupSucceeded', message: '' }
          : { type: 'LastBackupSucceeded', status: 'False', reason: 'LastBackupFailed', message: o.message ?? '' },
      );
    });
    if (r?.mode === 'plugin' && r.objectStoreName) {
      const os = store.get(GVR.objectStore, cluster.metadata.namespace, r.objectStoreName);
      if (os) {
        patchStatus(store, GVR.objectStore, os, (s) => {
          const w = { ...(s.serverRecoveryWindow?.[r.target.serverName] ?? {}) };
          if (o.ok) {
            w.lastSuccessfulBackupTime = o.at;
            if (o.first) w.firstRecoverabilityPoint = o.first;
          } else w.lastFailedBackupTime = o.at;
          s.serverRecoveryWindow = { ...(s.serverRecoveryWindow ?? {}), [r.target.serverName]: w };
        });
      }
    }
  }
}

/** Records a backup barman-cloud completed (its catalog entry); returns when it stopped. */
function completed(store: Ctx['store'], backup: KubeObject, info: BarmanBackupInfo): string {
  const stoppedAt = barmanToIso(info.end_time) ?? now();
  patchStatus(store, GVR.backup, backup, (s) => {
    s.phase = 'completed';
    s.backupId = info.backup_id;
    s.beginWal = info.begin_wal;
    s.endWal = info.end_wal;
    s.beginLSN = info.begin_xlog;
    s.endLSN = info.end_xlog;
    s.startedAt = barmanToIso(info.begin_time) ?? s.startedAt;
    s.stoppedAt = stoppedAt;
    s.timelineID = info.timeline;
  });
  store.recordEvent(backup, 'Normal', 'Completed', 'Backup completed');
  return stoppedAt;
}

type Times = Record<string, string>;

/**
 * Cluster.UpdateBackupTimes (api/v1/cluster_funcs.go, 1.25.0..main): the per-method maps hold each
 * method's first recoverability point and last successful backup; the plain fields are the
 * earliest first point and the latest backup across methods (CONFORMANCE.md, section moment).
 */
function setBackupTimes(s: Record<string, unknown>, method: string, first: string | undefined, last: string): void {
  const set = (m: unknown, v: string | undefined): Times => {
    const out = { ...((m as Times | undefined) ?? {}) };
    if (v) out[method] = v;
    else delete out[method];
    return out;
  };
  const pick = (m: Times, earliest: boolean) =>
    Object.values(m).sort((a, b) => (Date.parse(a) - Date.parse(b)) * (earliest ? 1 : -1))[0];
  const firsts = set(s.firstRecoverabilityPointByMethod, first);
  const lasts = set(s.lastSuccessfulBackupByMethod, last);
  s.firstRecoverabilityPointByMethod = firsts;
  s.lastSuccessfulBackupByMethod = lasts;
  s.firstRecoverabilityPoint = pick(firsts, true) ?? '';
  s.lastSuccessfulBackup = pick(lasts, false) ?? '';
}
