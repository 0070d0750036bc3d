// Per app: what a sync would do to each add-on (create / update / remove / unchanged, the
// destructive ones marked, the blocked ones with the reason). Pure: the caller reads the
// associations and the env Secret, so plan mode and apply mode compute the same plan.
import type { V1Secret } from '@kubernetes/client-node';
import type { SyncConfig } from './config.js';
import { collisions, describeCollision, ENV_KEYS, ownedKeys } from './env.js';
import { providerOf, variantOf } from './registry.js';
import type { AddonDeclaration, AppDeclaration, AppTarget, Association, LocalityMode, VariantSpec } from './types.js';

export type PlanAction = 'create' | 'update' | 'remove' | 'unchanged';

export interface PlanItem {
  app: string;
  addon: string;
  variant: string;
  fromVariant?: string;
  locality: LocalityMode;
  action: PlanAction;
  /** What exactly: provision, grow storage, re-inject vars, remove, nothing. */
  kind: 'provision' | 'grow' | 'reinject' | 'remove' | 'none';
  destructive: boolean;
  changes: string[];
  /** Why this cannot be done; the app fails and nothing is changed for this add-on. */
  blocked?: string;
  /** An unfinished removal or compensation of the existing association runs first. */
  finishRemovalFirst?: boolean;
  version?: string;
}

export interface AppPlan {
  app: string;
  file: string;
  target: AppTarget;
  /** The app.toml has no `addons` table: its add-ons are left as they are. */
  untouched: boolean;
  items: PlanItem[];
}

export function describeVariant(v: VariantSpec | undefined): string {
  if (!v) return 'unknown variant';
  return Object.entries(v.display)
    .map(([k, val]) => `${k} ${val}`)
    .join(', ');
}

export function planApp(
  decl: AppDeclaration,
  target: AppTarget,
  existing: Association[],
  envSecret: V1Secret | undefined,
  config: SyncConfig,
): AppPlan {
  const plan: AppPlan = { app: decl.name, file: decl.file, target, untouched: decl.addons === undefined, items: [] };
  if (!decl.addons) {
    for (const a of existing)
      plan.items.push({
        ...base(a.app, a.addon, a.variant, a.locality),
        action: 'unchanged',
        kind: 'none',
        destructive: false,
        changes: ['untouched: app.toml has no [addons] table'],
      });
    return plan;
  }
  const declared = new Set(decl.addons.map((d) => d.addon));
  const leaving = existing.filter((a) => !declared.has(a.addon)).map((a) => a.addon);
  const env: EnvView = { secret: envSecret, name: `Secret ${target.namespace}/${target.envSecret}`, leaving };
  // Removals go first: an add-on replacing another (e.g. remote -> shared) injects the same keys.
  const removals = existing
    .filter((a) => !declared.has(a.addon))
    .map((a) => planRemoval(decl.name, a, config, env.name));
  const declaredItems = decl.addons.map((d) =>
    planDeclared(
      decl.name,
      d,
      existing.find((x) => x.addon === d.addon),
      target,
      config,
      env,
    ),
  );
  plan.items.push(...removals, ...declaredItems);
  return plan;
}

/** The app's env Secret as the plan sees it. */
interface EnvView {
  secret: V1Secret | undefined;
  /** How messages name it. */
  name: string;
  /** Add-ons being removed (their keys are not collisions). */
  leaving: string[];
}

/** One declared add-on against its association, if any. */
function planDeclared(
  app: string,
  d: AddonDeclaration,
  a: Association | undefined,
  target: AppTarget,
  config: SyncConfig,
  env: EnvView,
): PlanItem {
  const provider = providerOf(d.addon)!;
  const to = provider.variants[d.variant];
  const item: PlanItem = {
    ...base(app, d.addon, d.variant, provider.locality),
    action: 'create',
    kind: 'provision',
    destructive: false,
    changes: [],
    version: d.version,
  };
  const clash = collisions(env.secret, d.addon, ENV_KEYS, env.leaving);
  const blockOnClash = () => {
    if (clash.length) item.blocked = describeCollision(target, d.addon, clash);
    return item;
  };
  const roll = `roll Deployment ${target.namespace}/${target.deployment}`;
  if (!a || a.status !== 'active') {
    planProvision(item, d, a, to, env.name, roll);
    return blockOnClash();
  }
  item.fromVariant = a.variant;
  if (a.variant !== d.variant) return planVariantChange(item, app, d, a, to);
  if ((d.version ?? '') !== (a.version ?? '')) return planVersionChange(item, app, d, a, config);
  const missing = missingKeys(a, d.addon, env.secret);
  if (missing.length) {
    Object.assign(item, { action: 'update', kind: 'reinject' } satisfies Partial<PlanItem>);
    item.changes.push(`re-inject ${missing.join(', ')} missing from ${env.name}`, roll);
    return blockOnClash();
  }
  item.changes.push('up to date');
  return Object.assign(item, { action: 'unchanged', kind: 'none' } satisfies Partial<PlanItem>);
}

/** No active association: provision, after finishing a removal or a different variant first. */
function planProvision(
  item: PlanItem,
  d: AddonDeclaration,
  a: Association | undefined,
  to: VariantSpec,
  envName: string,
  roll: string,
): void {
  item.finishRemovalFirst = !!a && (a.status === 'deprovisioning' || a.variant !== d.variant);
  if (item.finishRemovalFirst)
    item.changes.push(
      `first finish removing the earlier ${a!.variant} attachment (${a!.status}${a!.reason ? `: ${a!.reason}` : ''})`,
    );
  else if (a) item.changes.push(`resume provisioning (was ${a.status}${a.reason ? `: ${a.reason}` : ''})`);
  item.changes.push(
    `provision ${d.variant} (${describeVariant(to)})`,
    `inject ${ENV_KEYS.join(', ')} into ${envName}`,
    roll,
  );
}

/** An active add-on declared with another variant: grown in place, or blocked. */
function planVariantChange(
  item: PlanItem,
  app: string,
  d: AddonDeclaration,
  a: Association,
  to: VariantSpec,
): PlanItem {
  const from = variantOf(a.addon, a.variant);
  Object.assign(item, {
    action: 'update',
    kind: 'grow',
    blocked: variantChangeProblem(app, d.addon, from, to),
  } satisfies Partial<PlanItem>);
  item.changes.push(`${a.variant} -> ${d.variant}`);
  if (!item.blocked)
    item.changes.push(
      `grow storage ${from!.storageGi}Gi -> ${to.storageGi}Gi, instances ${from!.instances} -> ${to.instances}, in place`,
    );
  return item;
}

/** An active add-on declared with another (major) version: always blocked. */
function planVersionChange(
  item: PlanItem,
  app: string,
  d: AddonDeclaration,
  a: Association,
  config: SyncConfig,
): PlanItem {
  const shown = (v: string | undefined) => v ?? `default (${config.defaultVersion})`;
  item.blocked =
    `app '${app}': ${d.addon} version ${shown(a.version)} -> ${shown(d.version)} is a major upgrade, ` +
    `which addon-sync does not do in place; ` +
    `restore the previous version in app.toml, or upgrade the cluster with CloudNativePG's major upgrade and then update app.toml.`;
  return Object.assign(item, { action: 'update', kind: 'none' } satisfies Partial<PlanItem>);
}

/** Keys the association injected that the env Secret lacks or no longer marks as this add-on's. */
function missingKeys(a: Association, addon: string, secret: V1Secret | undefined): string[] {
  const mine = ownedKeys(secret)[addon] ?? [];
  const present = new Set(Object.keys(secret?.data ?? {}));
  return a.injectedKeys.filter((k) => !present.has(k) || !mine.includes(k));
}

/** An attached add-on the app no longer declares. */
function planRemoval(app: string, a: Association, config: SyncConfig, envName: string): PlanItem {
  const item: PlanItem = {
    ...base(a.app, a.addon, a.variant, a.locality),
    action: 'remove',
    kind: 'remove',
    destructive: true,
    changes: [],
  };
  const v = variantOf(a.addon, a.variant);
  item.changes.push(
    `remove ${a.injectedKeys.length ? a.injectedKeys.join(', ') : 'add-on vars'} from ${envName} and roll the app`,
  );
  if (!v)
    item.blocked = `app '${app}': the attached ${a.addon} variant '${a.variant}' is not in the registry; remove it by hand.`;
  else if (config.reclaim === 'retain') {
    item.destructive = false;
    item.changes.push(
      v.backend === 'dedicated'
        ? 'detach the Cluster and keep its data (reclaim: retain)'
        : "keep the database, disable the role's login (reclaim: retain)",
    );
  } else
    item.changes.push(
      v.backend === 'dedicated'
        ? 'DELETE the dedicated Cluster and its data'
        : 'terminate connections, DROP the database and role',
    );
  return item;
}

/** Why a variant change cannot be applied in place, or undefined for a grow. */
export function variantChangeProblem(
  app: string,
  addon: string,
  from: VariantSpec | undefined,
  to: VariantSpec,
): string | undefined {
  if (!from) return `app '${app}': the attached ${addon} variant is unknown; remove the add-on and add it again.`;
  if (from.backend !== 'dedicated' || to.backend !== 'dedicated') {
    return (
      `app '${app}': ${addon} cannot move from '${from.name}' (${from.backend}) to '${to.name}' (${to.backend}) in place: ` +
      `the data would have to be migrated. ` +
      `Keep variant = "${from.name}", or migrate the data yourself (e.g. pg_dump/pg_restore) ` +
      `after removing the add-on and adding it back with "${to.name}".`
    );
  }
  if ((to.storageGi ?? 0) < (from.storageGi ?? 0)) {
    return (
      `app '${app}': ${addon} cannot shrink from '${from.name}' (${from.storageGi}Gi) to '${to.name}' (${to.storageGi}Gi): ` +
      `CNPG storage only grows. ` +
      `Keep variant = "${from.name}" (or larger), or remove the add-on (its data is deleted) ` +
      `and add it again with "${to.name}".`
    );
  }
  return undefined;
}

function base(app: string, addon: string, variant: string, locality: LocalityMode) {
  return { app, addon, variant, locality };
}

export interface PlanCounts {
  create: number;
  update: number;
  remove: number;
  unchanged: number;
  blocked: number;
}

export function countPlan(plans: AppPlan[]): PlanCounts {
  const c: PlanCounts = { create: 0, update: 0, remove: 0, unchanged: 0, blocked: 0 };
  for (const p of plans) for (const i of p.items) c[i.blocked ? 'blocked' : i.action]++;
  return c;
}
