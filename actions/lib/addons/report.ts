// What the step prints, outputs and writes to the job summary: the plan per app, then the
// outcome per app (add-on, variant, locality, status, what changed). Never a secret: plans
// and outcomes carry names and statuses only.
import type { Core } from '../core.js';
import { markdownTable } from '../report/format.js';
import type { AppPlan } from './plan.js';
import { countPlan } from './plan.js';
import { providerOf } from './registry.js';
import type { AppOutcome } from './sync.js';

export function planJson(plans: AppPlan[]): string {
  return JSON.stringify(
    plans.map((p) => ({
      app: p.app,
      file: p.file,
      untouched: p.untouched,
      items: p.items.map((i) => ({
        addon: i.addon,
        variant: i.variant,
        ...(i.fromVariant && i.fromVariant !== i.variant ? { fromVariant: i.fromVariant } : {}),
        locality: i.locality,
        action: i.action,
        destructive: i.destructive,
        changes: i.changes,
        ...(i.blocked ? { blocked: i.blocked } : {}),
      })),
    })),
  );
}

const actionLabel = (action: string, destructive: boolean, blocked?: string) =>
  `${action}${destructive ? ' (destructive)' : ''}${blocked ? ' BLOCKED' : ''}`;

export function logPlan(core: Pick<Core, 'info'>, plans: AppPlan[]): void {
  for (const p of plans) {
    if (!p.items.length) {
      core.info(`${p.app}: no add-ons${p.untouched ? ' (no [addons] table: untouched)' : ''}`);
      continue;
    }
    for (const i of p.items) {
      const where = providerOf(i.addon)?.locality ?? i.locality;
      core.info(
        `${p.app}: ${i.addon} ${i.fromVariant && i.fromVariant !== i.variant ? `${i.fromVariant} -> ` : ''}${i.variant} ` +
          `[${where}] ${actionLabel(i.action, i.destructive, i.blocked)}: ${i.changes.join('; ')}`,
      );
      if (i.blocked) core.info(`  blocked: ${i.blocked}`);
    }
  }
}

export interface Counts {
  created: number;
  updated: number;
  removed: number;
  failed: number;
}

export function countOutcomes(outcomes: AppOutcome[]): Counts {
  const c: Counts = { created: 0, updated: 0, removed: 0, failed: 0 };
  for (const o of outcomes) for (const i of o.items) if (i.result !== 'unchanged') c[i.result]++;
  return c;
}

export function planCounts(plans: AppPlan[]): Counts {
  const c = countPlan(plans);
  return { created: c.create, updated: c.update, removed: c.remove, failed: c.blocked };
}

/** The job summary: counts, then one row per app and add-on (plan, or outcome after apply). */
export function renderSummary(mode: 'plan' | 'apply', plans: AppPlan[], outcomes?: AppOutcome[]): string {
  const counts = outcomes ? countOutcomes(outcomes) : planCounts(plans);
  const verb = (planned: string, done: string) => (mode === 'plan' ? planned : done);
  const head =
    `## ${verb('Add-on plan', 'Add-on sync')}\n\n` +
    `${plans.length} app(s): ${counts.created} ${verb('to create', 'created')}, ${counts.updated} ${verb('to update', 'updated')}, ` +
    `${counts.removed} ${verb('to remove', 'removed')}, ${counts.failed} failed.\n\n`;
  const rows: unknown[][] = [];
  for (const p of plans) {
    const outcome = outcomes?.find((o) => o.app === p.app);
    if (!p.items.length)
      rows.push([
        p.app,
        '-',
        '-',
        '-',
        p.untouched ? 'untouched' : 'none',
        p.untouched ? 'no [addons] table' : 'no add-ons',
      ]);
    for (const i of p.items) {
      const o = outcome?.items.find((x) => x.item.addon === i.addon);
      const status = o
        ? o.result === 'failed'
          ? `failed (${o.status})`
          : o.status
        : i.blocked
          ? 'blocked'
          : 'planned';
      const changes = [
        actionLabel(i.action, i.destructive, i.blocked),
        ...i.changes,
        ...(o?.message ? [o.message] : i.blocked ? [i.blocked] : []),
      ].join('; ');
      rows.push([
        p.app,
        i.addon,
        i.fromVariant && i.fromVariant !== i.variant ? `${i.fromVariant} -> ${i.variant}` : i.variant,
        i.locality,
        status,
        changes,
      ]);
    }
  }
  return head + markdownTable(['App', 'Add-on', 'Variant', 'Locality', 'Status', 'Changes'], rows);
}
