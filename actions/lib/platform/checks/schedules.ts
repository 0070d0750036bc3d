// Every CloudNativePG ScheduledBackup the chart renders must carry a six-field cron (reference
// drill item 9: a five-field one silently ran hourly).
import { checkCnpgSchedule } from '../../cnpg/schedule.js';
import { CNPG_GROUP, type ScheduledBackup } from '../../cnpg/types.js';
import { describeObject, groupVersionOf, type RenderedObject } from '../render.js';

export interface ScheduleProblem {
  object: string;
  template: string;
  message: string;
}

export function checkSchedules(
  rendered: RenderedObject[],
  now = new Date(),
): { checked: number; problems: ScheduleProblem[] } {
  const problems: ScheduleProblem[] = [];
  let checked = 0;
  for (const r of rendered) {
    if (r.object.kind !== 'ScheduledBackup' || groupVersionOf(r.object.apiVersion).group !== CNPG_GROUP) continue;
    checked++;
    const schedule = (r.object as unknown as ScheduledBackup).spec?.schedule ?? '';
    const result = checkCnpgSchedule(String(schedule), now);
    if (!result.ok)
      problems.push({
        object: describeObject(r.object),
        template: r.source,
        message: `${describeObject(r.object)} (${r.source}): ${result.problem}`,
      });
  }
  return { checked, problems };
}
