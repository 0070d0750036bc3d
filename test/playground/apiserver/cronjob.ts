// batch/v1 CronJob validation and defaulting as the API server's (kubernetes pkg/apis/batch/validation
// validateCronJobSpec, pkg/apis/batch/v1 SetDefaults_CronJob): the schedule parsed as robfig/cron's
// ParseStandard does (five fields or a descriptor, no TZ), an IANA timeZone, a concurrencyPolicy, the
// job template's restartPolicy, and a name short enough for the Jobs it creates (52 characters).
// No controller fires on the schedule: a first run is `kubectl create job --from=cronjob/<name>`.

type Cause = { field: string; message: string };

const BOUNDS: [number, number, string[]?][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12, ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']],
  [0, 6, ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']],
];
const DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function parseInt10(s: string, names: string[] | undefined, offset: number): number {
  const named = names?.indexOf(s.toLowerCase()) ?? -1;
  if (named >= 0) return named + offset;
  if (!/^-?\d+$/.test(s))
    throw new Error(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  const n = Number(s);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${s}`);
  return n;
}

/** One comma-separated part of a field (robfig/cron getRange): `*`, `?`, `a`, `a-b`, each with an optional `/step`. */
function checkRange(expr: string, [min, max, names]: [number, number, string[]?]): void {
  const [range, step, ...extraSlash] = expr.split('/');
  if (extraSlash.length) throw new Error(`too many slashes: ${expr}`);
  const [lo, hi, ...extraHyphen] = range.split('-');
  if (extraHyphen.length) throw new Error(`too many hyphens: ${expr}`);
  const star = lo === '*' || lo === '?';
  const start = star ? min : parseInt10(lo, names, min);
  const end = star ? max : hi === undefined ? start : parseInt10(hi, names, min);
  if (step !== undefined && Number(parseInt10(step, undefined, 0)) <= 0)
    throw new Error(`step of range should be a positive number: ${expr}`);
  if (start < min) throw new Error(`beginning of range (${start}) below minimum (${min}): ${expr}`);
  if (end > max) throw new Error(`end of range (${end}) above maximum (${max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
}

/** The error robfig/cron's ParseStandard returns for `schedule`, or undefined when it parses. */
export function scheduleError(schedule: string): string | undefined {
  const spec = schedule.trim();
  if (!spec) return 'empty spec string';
  try {
    if (spec.startsWith('@')) {
      if (DESCRIPTORS.includes(spec)) return undefined;
      if (/^@every \S+$/.test(spec)) return undefined;
      throw new Error(`unrecognized descriptor: ${spec}`);
    }
    const fields = spec.split(/\s+/);
    if (fields.length !== 5)
      throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
    fields.forEach((f, i) => f.split(',').forEach((part) => checkRange(part, BOUNDS[i])));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const TZ_PART = /^[A-Za-z._\-+0-9]+$/;

function timeZoneErrors(tz: unknown): string[] {
  if (tz === undefined || tz === null) return [];
  const s = String(tz);
  if (s === '') return ['timeZone must be nil or non-empty string'];
  if (s.split('/').some((p) => p === '.' || p === '..' || p.startsWith('-') || !TZ_PART.test(p)))
    return [`unknown time zone ${s}`];
  if (s.toLowerCase() === 'local')
    return ['timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s });
    return [];
  } catch {
    return [`unknown time zone ${s}`];
  }
}

const nonNegative = (v: unknown, field: string): Cause[] =>
  typeof v === 'number' && v < 0 ? [{ field, message: `Invalid value: ${v}: must be greater than or equal to 0` }] : [];

/** Defaults a CronJob's spec in place and returns what the API server would refuse it for. */
export function cronJobCauses(name: string, spec: Record<string, any>, old?: Record<string, any>): Cause[] {
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  const out: Cause[] = [];
  if (!old && name.length > 52)
    out.push({ field: 'metadata.name', message: `Invalid value: "${name}": must be no more than 52 characters` });
  const schedule = typeof spec.schedule === 'string' ? spec.schedule : '';
  if (!schedule) out.push({ field: 'spec.schedule', message: 'Required value' });
  else {
    const err = scheduleError(schedule);
    if (err) out.push({ field: 'spec.schedule', message: `Invalid value: "${schedule}": ${err}` });
    if (schedule.includes('TZ') && !old?.schedule?.includes('TZ'))
      out.push({
        field: 'spec.schedule',
        message: `Invalid value: "${schedule}": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`,
      });
  }
  if (!old || old.timeZone !== spec.timeZone)
    for (const m of timeZoneErrors(spec.timeZone))
      out.push({ field: 'spec.timeZone', message: `Invalid value: "${spec.timeZone}": ${m}` });
  if (!['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy))
    out.push({
      field: 'spec.concurrencyPolicy',
      message: `Unsupported value: "${spec.concurrencyPolicy}": supported values: "Allow", "Forbid", "Replace"`,
    });
  out.push(...nonNegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  out.push(...nonNegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  out.push(...nonNegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  return [...out, ...jobTemplateCauses(spec.jobTemplate)];
}

function jobTemplateCauses(t: Record<string, any> | undefined): Cause[] {
  const pod = t?.spec?.template?.spec;
  const path = 'spec.jobTemplate.spec.template.spec';
  if (!Array.isArray(pod?.containers) || pod.containers.length === 0)
    return [{ field: `${path}.containers`, message: 'Required value' }];
  // The pod template's restartPolicy defaults to Always (SetDefaults_PodSpec), which a Job refuses.
  const policy = pod.restartPolicy ?? 'Always';
  if (!['OnFailure', 'Never'].includes(policy))
    return [
      {
        field: `${path}.restartPolicy`,
        message: `Unsupported value: "${policy}": supported values: "OnFailure", "Never"`,
      },
    ];
  return [];
}
