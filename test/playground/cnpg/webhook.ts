// CNPG's admission webhooks: defaulting and validation, with the messages the real operator
// (internal/webhook/v1) and its CRD schema produce. Errors are 422 Invalid like the API server's.
import { CronExpressionParser } from 'cron-parser';
import { ApiError, type KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR } from './context.js';

interface FieldError {
  text: string;
}
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : v === undefined || v === null ? '""' : JSON.stringify(v));
const invalid = (path: string, value: unknown, detail: string): FieldError => ({ text: `${path}: Invalid value: ${show(value)}: ${detail}` });
const required = (path: string, detail?: string): FieldError => ({ text: `${path}: Required value${detail ? `: ${detail}` : ''}` });
const forbidden = (path: string, detail: string): FieldError => ({ text: `${path}: Forbidden: ${detail}` });

function reject(kind: string, group: string, name: string, errs: FieldError[]): never {
  const list = errs.length === 1 ? errs[0].text : `[${errs.map((e) => e.text).join(', ')}]`;
  throw new ApiError(422, 'Invalid', `${kind}.${group} "${name}" is invalid: ${list}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: 'FieldValueInvalid', message: e.text, field: e.text.split(':')[0] })),
  });
}

/** Kubernetes resource.Quantity in bytes (binary and decimal suffixes); NaN when invalid. */
export function quantityBytes(q: unknown): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(String(q ?? '').trim());
  if (!m) return NaN;
  const mult: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return Number(m[1]) * mult[m[2] ?? ''];
}

function storageSize(storage: any): string | undefined {
  return storage?.size ?? storage?.pvcTemplate?.resources?.requests?.storage;
}

// ---- Cluster ----

function defaultCluster(c: KubeObject): void {
  const s = (c.spec ??= {});
  s.instances ??= 1;
  if (!s.imageName && !s.imageCatalogRef) s.imageName = 'ghcr.io/cloudnative-pg/postgresql:15';
  s.enableSuperuserAccess ??= false;
  s.postgresql ??= {};
  s.postgresql.parameters ??= {};
  s.bootstrap ??= { initdb: {} };
  if (!s.bootstrap.initdb && !s.bootstrap.recovery && !s.bootstrap.pg_basebackup) s.bootstrap.initdb = {};
  for (const b of [s.bootstrap.initdb, s.bootstrap.recovery, s.bootstrap.pg_basebackup]) {
    if (!b) continue;
    b.database ??= 'app';
    b.owner ??= b.database;
  }
  s.primaryUpdateStrategy ??= 'unsupervised';
  s.primaryUpdateMethod ??= 'restart';
  s.logLevel ??= 'info';
  s.smartShutdownTimeout ??= 180;
  s.stopDelay ??= 1800;
  s.switchoverDelay ??= 3600;
  s.startDelay ??= 3600;
  s.failoverDelay ??= 0;
  s.maxSyncReplicas ??= 0;
  s.minSyncReplicas ??= 0;
  if (s.backup?.barmanObjectStore) s.backup.target ??= 'prefer-standby';
}

function validateObjectStore(path: string, store: any, errs: FieldError[]): void {
  if (!store) return;
  if (!store.destinationPath) errs.push(required(`${path}.destinationPath`));
}

function validateCluster(c: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const s = c.spec ?? {};
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(c.metadata.name) || c.metadata.name.length > 63) {
    errs.push(invalid('metadata.name', c.metadata.name, 'cluster name must be a valid DNS label'));
  }
  if (typeof s.instances === 'number' && s.instances < 1) errs.push(invalid('spec.instances', s.instances, 'spec.instances in body should be greater than or equal to 1'));

  const size = storageSize(s.storage);
  if (size !== undefined && Number.isNaN(quantityBytes(size))) errs.push(invalid('spec.storage.size', size, "Size value isn't valid"));
  if (size === undefined || size === '') {
    errs.push(invalid('spec.storage.size', s.storage?.size ?? '', 'Size not configured. Please add it, or a storage request in the pvcTemplate.'));
  }
  if (old) {
    const before = quantityBytes(storageSize(old.spec?.storage));
    const after = quantityBytes(size);
    if (before > after) errs.push(invalid('spec.storage', size, `can't shrink existing storage from ${storageSize(old.spec?.storage)} to ${size}`));
  }

  const b = s.bootstrap ?? {};
  if ([b.initdb, b.recovery, b.pg_basebackup].filter(Boolean).length > 1) {
    errs.push(forbidden('spec.bootstrap', 'Only one bootstrap method can be specified at a time'));
  }
  const externals: any[] = s.externalClusters ?? [];
  externals.forEach((e, i) => {
    validateObjectStore(`spec.externalClusters[${i}].barmanObjectStore`, e.barmanObjectStore, errs);
    if (!e.connectionParameters && !e.barmanObjectStore && !e.plugin) {
      errs.push(required(`spec.externalClusters[${i}]`, 'one of connectionParameters, plugin and barmanObjectStore is required'));
    }
  });
  const r = b.recovery;
  if (r) {
    if (r.source) {
      const ext = externals.find((e) => e.name === r.source);
      if (!ext) errs.push(invalid('spec.bootstrap.recovery.source', r.source, `External cluster ${r.source} not found`));
      else if (!ext.connectionParameters && !ext.barmanObjectStore && !ext.plugin) {
        errs.push(invalid('spec.bootstrap.recovery.source', r.source, `External cluster ${r.source} cannot be used for recovery: missing connection parameters, Barman, or CNPG-i configuration`));
      }
      // Approximation: upstream resolves `backup` first; the emulator refuses the ambiguity outright.
      if (r.backup?.name) errs.push(invalid('spec.bootstrap.recovery', r.source, 'Recovery from a backup and from an external source are mutually exclusive'));
    } else if (!r.backup?.name && !r.volumeSnapshots) {
      errs.push(required('spec.bootstrap.recovery', 'recovery source not specified'));
    }
    validateRecoveryTarget(r.recoveryTarget, errs);
  }

  validateObjectStore('spec.backup.barmanObjectStore', s.backup?.barmanObjectStore, errs);
  if (s.backup?.retentionPolicy && !/^[1-9][0-9]*[dwm]$/.test(s.backup.retentionPolicy)) {
    errs.push(invalid('spec.backup.retentionPolicy', s.backup.retentionPolicy, `spec.backup.retentionPolicy in body should match '^[1-9][0-9]*[dwm]$'`));
  }
  const archivers = (s.plugins ?? []).filter((p: any) => p.enabled !== false && p.isWALArchiver).map((p: any) => p.name);
  if (s.backup?.barmanObjectStore && archivers.length > 0) {
    errs.push(invalid('spec.plugins', archivers, 'Cannot enable a WAL archiver plugin when barmanObjectStore is configured'));
  }
  if (archivers.length > 1) errs.push(invalid('spec.plugins', archivers, 'Cannot enable more than one WAL archiver plugin'));
  return errs;
}

function validateRecoveryTarget(t: any, errs: FieldError[]): void {
  if (!t) return;
  const p = 'spec.bootstrap.recovery.recoveryTarget';
  const n = [t.targetImmediate != null, !!t.targetLSN, !!t.targetName, !!t.targetXID, !!t.targetTime].filter(Boolean).length;
  if (n > 1) errs.push(invalid(p, t, 'Recovery target options are mutually exclusive'));
  if (t.targetTime && Number.isNaN(Date.parse(normalizeTargetTime(t.targetTime)))) errs.push(invalid(p, t.targetTime, 'The format of TargetTime is invalid'));
  if (t.targetLSN && !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(t.targetLSN)) errs.push(invalid(p, t.targetLSN, 'Invalid TargetLSN'));
  if (t.targetXID && !/^\d+$/.test(t.targetXID)) errs.push(invalid(`${p}.targetXID`, t.targetXID, 'recovery target xid must be a non-negative 32-bit integer'));
  if (t.targetName && t.targetName.length >= 64) errs.push(invalid(`${p}.targetName`, t.targetName, 'recovery target name must be shorter than 64 bytes'));
  if ((t.targetName || t.targetXID || t.targetImmediate != null) && !t.backupID) errs.push(required(p, 'BackupID is missing'));
}

/** CNPG accepts RFC 3339 and PostgreSQL-style timestamps ("2023-07-06 08:00:39+00"). */
export function normalizeTargetTime(s: string): string {
  let v = s.trim().replace(' ', 'T');
  if (/[+-]\d{2}$/.test(v)) v += ':00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) v += 'Z';
  return v;
}

// ---- Backup / ScheduledBackup / Database ----

function validateBackup(b: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!b.spec?.cluster?.name) errs.push(required('spec.cluster.name'));
  if (b.spec?.method === 'plugin' && !b.spec?.pluginConfiguration) errs.push(invalid('spec.pluginConfiguration', '', 'cannot be empty when the backup method is plugin'));
  if ((b.spec?.method ?? 'barmanObjectStore') === 'barmanObjectStore' && b.spec?.online !== undefined) {
    errs.push(invalid('spec.online', b.spec.online, 'Online parameter can be specified only if the backup method is volumeSnapshot'));
  }
  if (old && JSON.stringify(old.spec) !== JSON.stringify(b.spec)) errs.push(invalid('spec', '', 'Backup spec is immutable'));
  return errs;
}

/** Schedules as CloudNativePG reads them: six fields, seconds first (five fields get `*` weekdays). */
export function parseSchedule(schedule: string, currentDate?: Date) {
  const fields = schedule.trim().split(/\s+/);
  const expr = fields.length === 5 ? [...fields, '*'].join(' ') : schedule.trim();
  if (fields.length < 5 || fields.length > 6) throw new Error(`expected exactly 6 fields, found ${fields.length}: ${schedule}`);
  return CronExpressionParser.parse(expr, { currentDate: currentDate ?? new Date(), strict: false });
}

function validateScheduledBackup(sb: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const schedule = sb.spec?.schedule;
  if (!schedule) errs.push(required('spec.schedule'));
  else {
    try {
      parseSchedule(schedule);
    } catch (err) {
      errs.push(invalid('spec.schedule', schedule, (err as Error).message));
    }
  }
  if (!sb.spec?.cluster?.name) errs.push(required('spec.cluster.name'));
  if (sb.spec?.method === 'plugin' && !sb.spec?.pluginConfiguration) errs.push(invalid('spec.pluginConfiguration', '', 'cannot be empty when the backup method is plugin'));
  return errs;
}

function validateDatabase(d: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = d.spec?.name;
  if (!name) errs.push(required('spec.name'));
  if (['postgres', 'template0', 'template1'].includes(name)) errs.push(invalid('spec.name', name, `the name ${name} is reserved`));
  if (!d.spec?.owner) errs.push(required('spec.owner'));
  if (!d.spec?.cluster?.name) errs.push(required('spec.cluster.name'));
  if (old) {
    if (old.spec?.name !== name) errs.push(invalid('spec.name', name, 'name is immutable'));
    if (old.spec?.cluster?.name !== d.spec?.cluster?.name) errs.push(invalid('spec.cluster', d.spec?.cluster, 'cluster reference is immutable after creation'));
  }
  return errs;
}

export function installWebhooks(ctx: Ctx): void {
  const group = 'postgresql.cnpg.io';
  ctx.store.addAdmission(GVR.cluster, (op, obj, old) => {
    defaultCluster(obj);
    const errs = validateCluster(obj, op === 'UPDATE' ? old : undefined);
    if (errs.length) reject('Cluster', group, obj.metadata.name, errs);
  });
  ctx.store.addAdmission(GVR.backup, (op, obj, old) => {
    obj.spec ??= {};
    obj.spec.method ??= 'barmanObjectStore';
    const errs = validateBackup(obj, op === 'UPDATE' ? old : undefined);
    if (errs.length) reject('Backup', group, obj.metadata.name, errs);
  });
  ctx.store.addAdmission(GVR.scheduledBackup, (_op, obj) => {
    obj.spec ??= {};
    obj.spec.method ??= 'barmanObjectStore';
    obj.spec.backupOwnerReference ??= 'none';
    const errs = validateScheduledBackup(obj);
    if (errs.length) reject('ScheduledBackup', group, obj.metadata.name, errs);
  });
  ctx.store.addAdmission(GVR.database, (op, obj, old) => {
    obj.spec ??= {};
    obj.spec.ensure ??= 'present';
    obj.spec.databaseReclaimPolicy ??= 'retain';
    const errs = validateDatabase(obj, op === 'UPDATE' ? old : undefined);
    if (errs.length) reject('Database', group, obj.metadata.name, errs);
  });
  ctx.store.addAdmission(GVR.objectStore, (_op, obj) => {
    const errs: FieldError[] = [];
    if (!obj.spec?.configuration) errs.push(required('spec.configuration'));
    else validateObjectStore('spec.configuration', obj.spec.configuration, errs);
    if (obj.spec?.configuration?.serverName) errs.push(forbidden('spec.configuration.serverName', 'use the plugin parameters to set the server name'));
    if (errs.length) reject('ObjectStore', 'barmancloud.cnpg.io', obj.metadata.name, errs);
  });
}
