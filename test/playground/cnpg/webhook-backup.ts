// The Backup, ScheduledBackup and Database webhooks (internal/webhook/v1/*_webhook.go).
import { CronExpressionParser } from 'cron-parser';
import type { KubeObject } from '../types.js';
import { invalid, required, type FieldError } from './webhook-errors.js';

export function validateBackup(b: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!b.spec?.cluster?.name) errs.push(required('spec.cluster.name'));
  if (b.spec?.method === 'plugin' && !b.spec?.pluginConfiguration)
    errs.push(invalid('spec.pluginConfiguration', '', 'cannot be empty when the backup method is plugin'));
  if ((b.spec?.method ?? 'barmanObjectStore') === 'barmanObjectStore' && b.spec?.online !== undefined) {
    errs.push(
      invalid(
        'spec.online',
        b.spec.online,
        'Online parameter can be specified only if the backup method is volumeSnapshot',
      ),
    );
  }
  if (old && JSON.stringify(old.spec) !== JSON.stringify(b.spec))
    errs.push(invalid('spec', '', 'Backup spec is immutable'));
  return errs;
}

/** Schedules as CloudNativePG reads them: six fields, seconds first (five fields get `*` weekdays). */
export function parseSchedule(schedule: string, currentDate?: Date) {
  const fields = schedule.trim().split(/\s+/);
  const expr = fields.length === 5 ? [...fields, '*'].join(' ') : schedule.trim();
  if (fields.length < 5 || fields.length > 6)
    throw new Error(`expected exactly 6 fields, found ${fields.length}: ${schedule}`);
  return CronExpressionParser.parse(expr, { currentDate: currentDate ?? new Date(), strict: false });
}

export function validateScheduledBackup(sb: KubeObject): FieldError[] {
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
  if (sb.spec?.method === 'plugin' && !sb.spec?.pluginConfiguration)
    errs.push(invalid('spec.pluginConfiguration', '', 'cannot be empty when the backup method is plugin'));
  return errs;
}

export function validateDatabase(d: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = d.spec?.name;
  if (!name) errs.push(required('spec.name'));
  if (['postgres', 'template0', 'template1'].includes(name))
    errs.push(invalid('spec.name', name, `the name ${name} is reserved`));
  if (!d.spec?.owner) errs.push(required('spec.owner'));
  if (!d.spec?.cluster?.name) errs.push(required('spec.cluster.name'));
  if (old) {
    if (old.spec?.name !== name) errs.push(invalid('spec.name', name, 'name is immutable'));
    if (old.spec?.cluster?.name !== d.spec?.cluster?.name)
      errs.push(invalid('spec.cluster', d.spec?.cluster, 'cluster reference is immutable after creation'));
  }
  return errs;
}
