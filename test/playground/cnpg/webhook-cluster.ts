// The Cluster webhook (internal/webhook/v1/cluster_webhook.go): defaults, then validation.
import type { KubeObject } from '../types.js';
import { forbidden, invalid, quantityBytes, required, storageSize, type FieldError } from './webhook-errors.js';

export function defaultCluster(c: KubeObject): void {
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

export function validateObjectStore(path: string, store: any, errs: FieldError[]): void {
  if (!store) return;
  if (!store.destinationPath) errs.push(required(`${path}.destinationPath`));
}

export function validateCluster(c: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const s = c.spec ?? {};
  errs.push(...validateName(c.metadata.name));
  if (typeof s.instances === 'number' && s.instances < 1)
    errs.push(invalid('spec.instances', s.instances, 'spec.instances in body should be greater than or equal to 1'));

  const size = storageSize(s.storage);
  if (size !== undefined && Number.isNaN(quantityBytes(size)))
    errs.push(invalid('spec.storage.size', size, "Size value isn't valid"));
  if (size === undefined || size === '') {
    errs.push(
      invalid(
        'spec.storage.size',
        s.storage?.size ?? '',
        'Size not configured. Please add it, or a storage request in the pvcTemplate.',
      ),
    );
  }
  if (old) {
    const before = quantityBytes(storageSize(old.spec?.storage));
    const after = quantityBytes(size);
    if (before > after)
      errs.push(
        invalid(
          'spec.storage',
          size,
          `can't shrink existing storage from ${storageSize(old.spec?.storage)} to ${size}`,
        ),
      );
  }

  const b = s.bootstrap ?? {};
  if ([b.initdb, b.recovery, b.pg_basebackup].filter(Boolean).length > 1) {
    errs.push(forbidden('spec.bootstrap', 'Only one bootstrap method can be specified at a time'));
  }
  const externals: any[] = s.externalClusters ?? [];
  externals.forEach((e, i) => {
    validateObjectStore(`spec.externalClusters[${i}].barmanObjectStore`, e.barmanObjectStore, errs);
    if (!e.connectionParameters && !e.barmanObjectStore && !e.plugin) {
      errs.push(
        required(
          `spec.externalClusters[${i}]`,
          'one of connectionParameters, plugin and barmanObjectStore is required',
        ),
      );
    }
  });
  const r = b.recovery;
  if (r) {
    if (r.source) {
      const ext = externals.find((e) => e.name === r.source);
      if (!ext)
        errs.push(invalid('spec.bootstrap.recovery.source', r.source, `External cluster ${r.source} not found`));
      else if (!ext.connectionParameters && !ext.barmanObjectStore && !ext.plugin) {
        errs.push(
          invalid(
            'spec.bootstrap.recovery.source',
            r.source,
            `External cluster ${r.source} cannot be used for recovery: missing connection parameters, Barman, or CNPG-i configuration`,
          ),
        );
      }
      // Approximation: upstream resolves `backup` first; the emulator refuses the ambiguity outright.
      if (r.backup?.name)
        errs.push(
          invalid(
            'spec.bootstrap.recovery',
            r.source,
            'Recovery from a backup and from an external source are mutually exclusive',
          ),
        );
    } else if (!r.backup?.name && !r.volumeSnapshots) {
      errs.push(required('spec.bootstrap.recovery', 'recovery source not specified'));
    }
    validateRecoveryTarget(r.recoveryTarget, errs);
  }

  validateObjectStore('spec.backup.barmanObjectStore', s.backup?.barmanObjectStore, errs);
  if (s.backup?.retentionPolicy && !/^[1-9][0-9]*[dwm]$/.test(s.backup.retentionPolicy)) {
    errs.push(
      invalid(
        'spec.backup.retentionPolicy',
        s.backup.retentionPolicy,
        `spec.backup.retentionPolicy in body should match '^[1-9][0-9]*[dwm]$'`,
      ),
    );
  }
  const archivers = (s.plugins ?? [])
    .filter((p: any) => p.enabled !== false && p.isWALArchiver)
    .map((p: any) => p.name);
  if (s.backup?.barmanObjectStore && archivers.length > 0) {
    errs.push(
      invalid('spec.plugins', archivers, 'Cannot enable a WAL archiver plugin when barmanObjectStore is configured'),
    );
  }
  if (archivers.length > 1)
    errs.push(invalid('spec.plugins', archivers, 'Cannot enable more than one WAL archiver plugin'));
  return errs;
}

function validateRecoveryTarget(t: any, errs: FieldError[]): void {
  if (!t) return;
  const p = 'spec.bootstrap.recovery.recoveryTarget';
  const n = [t.targetImmediate != null, !!t.targetLSN, !!t.targetName, !!t.targetXID, !!t.targetTime].filter(
    Boolean,
  ).length;
  if (n > 1) errs.push(invalid(p, t, 'Recovery target options are mutually exclusive'));
  if (t.targetTime && Number.isNaN(Date.parse(normalizeTargetTime(t.targetTime))))
    errs.push(invalid(p, t.targetTime, 'The format of TargetTime is invalid'));
  if (t.targetLSN && !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(t.targetLSN))
    errs.push(invalid(p, t.targetLSN, 'Invalid TargetLSN'));
  if (t.targetXID && !/^\d+$/.test(t.targetXID))
    errs.push(invalid(`${p}.targetXID`, t.targetXID, 'recovery target xid must be a non-negative 32-bit integer'));
  if (t.targetName && t.targetName.length >= 64)
    errs.push(invalid(`${p}.targetName`, t.targetName, 'recovery target name must be shorter than 64 bytes'));
  if ((t.targetName || t.targetXID || t.targetImmediate != null) && !t.backupID)
    errs.push(required(p, 'BackupID is missing'));
}

/** CNPG accepts RFC 3339 and PostgreSQL-style timestamps ("2023-07-06 08:00:39+00"). */
export function normalizeTargetTime(s: string): string {
  let v = s.trim().replace(' ', 'T');
  if (/[+-]\d{2}$/.test(v)) v += ':00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) v += 'Z';
  return v;
}

/** validateName: an RFC 1035 label (at most 63), and at most 50 characters (derived names get suffixes). */
function validateName(name: string): FieldError[] {
  const errs: FieldError[] = [];
  if (name.length > 63 || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name))
    errs.push(invalid('metadata.name', name, 'cluster name must be a valid DNS label'));
  if (name.length > 50)
    errs.push(invalid('metadata.name', name, 'the maximum length of a cluster name is 50 characters'));
  return errs;
}
