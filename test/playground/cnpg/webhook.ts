// CNPG's admission webhooks: defaulting and validation, with the messages the real operator
// (internal/webhook/v1) and its CRD schema produce. Errors are 422 Invalid like the API server's.
import type { Ctx } from './context.js';
import { GVR } from './context.js';
import { validateBackup, validateDatabase, validateScheduledBackup } from './webhook-backup.js';
import { defaultCluster, validateCluster, validateObjectStore } from './webhook-cluster.js';
import { forbidden, reject, required, type FieldError } from './webhook-errors.js';

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
    if (obj.spec?.configuration?.serverName)
      errs.push(forbidden('spec.configuration.serverName', 'use the plugin parameters to set the server name'));
    if (errs.length) reject('ObjectStore', 'barmancloud.cnpg.io', obj.metadata.name, errs);
  });
}
