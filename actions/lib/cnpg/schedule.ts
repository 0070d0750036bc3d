// CloudNativePG ScheduledBackup schedules have SIX fields, seconds first. A five-field value is
// accepted by the operator but read shifted (seconds=first field, minutes=second...), so
// `0 3 * * *` fires at minute 3 of every hour: lint it instead of letting it run hourly.
import { CronExpressionParser } from 'cron-parser';
import { describeError } from '../errors.js';

export interface ScheduleCheck {
  ok: boolean;
  problem?: string;
  /** Next fire times (UTC) when valid. */
  next?: Date[];
}

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

export function checkCnpgSchedule(schedule: string, from = new Date()): ScheduleCheck {
  const expr = schedule.trim();
  if (DESCRIPTORS.has(expr) || /^@every\s+\S+$/.test(expr)) return { ok: true };
  const fields = expr.split(/\s+/).filter(Boolean);
  if (fields.length === 5) {
    return {
      ok: false,
      problem:
        `schedule '${expr}' has five fields, but CloudNativePG schedules have six with seconds first: ` +
        `it would be read as second=${fields[0]} minute=${fields[1]} hour=${fields[2]} ` +
        `and run ${fields[2] === '*' ? 'every hour' : 'at the wrong time'}. ` +
        `Prefix a seconds field, e.g. '0 ${expr}'.`,
    };
  }
  if (fields.length !== 6) {
    return {
      ok: false,
      problem:
        `schedule '${expr}' has ${fields.length} fields; CloudNativePG ` +
        `needs six (second minute hour day-of-month month day-of-week).`,
    };
  }
  try {
    const it = CronExpressionParser.parse(expr, { currentDate: from, tz: 'UTC' });
    const next = [it.next().toDate(), it.next().toDate()];
    return { ok: true, next };
  } catch (err) {
    return { ok: false, problem: `schedule '${expr}' is not a valid cron expression: ${describeError(err)}` };
  }
}
