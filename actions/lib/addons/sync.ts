// Orchestration: plan every app (reads only), then apply each app's items. Creates run as a
// saga with compensation; removals run env vars -> destroy -> association, stopping at the
// first failure so the next run retries. One failing app never stops the others.
import pLimit from 'p-limit';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { getCluster } from '../cnpg/api.js';
import { AssociationStore, Labels } from './association.js';
import type { SyncConfig } from './config.js';
import { EnvSecrets, envVarsFor, maskEnv } from './env.js';
import { fromTemplate } from './naming.js';
import { planApp, type AppPlan, type PlanItem } from './plan.js';
import type { BackendContext, BackendImpl } from './providers/backend.js';
import { deleteClusterAndWait } from './providers/cluster-ops.js';
import { BACKENDS } from './providers/index.js';
import { providerOf, variantOf } from './registry.js';
import { registerProviders } from './registration.js';
import { rollDeployment } from './rollout.js';
import { describeSagaFailure, runSaga, type SagaStep } from './saga.js';
import type { AppDeclaration, AppTarget, Association, VariantSpec } from './types.js';
import type { ConnInfo } from '../postgres/conn-info.js';
import { describeErrorLine } from '../errors.js';

export type ItemResult = 'created' | 'updated' | 'removed' | 'unchanged' | 'failed';

export interface ItemOutcome {
  item: PlanItem;
  result: ItemResult;
  /** The association's status after the run ('removed' once deleted). */
  status: string;
  message?: string;
}

export interface AppOutcome {
  app: string;
  items: ItemOutcome[];
}

export interface SyncDeps {
  core: Core;
  clients: KubeClients;
  config: SyncConfig;
}

export function targetFor(config: SyncConfig, app: string): AppTarget {
  return {
    app,
    namespace: fromTemplate(config.namespaceTemplate, app),
    envSecret: fromTemplate(config.envSecretTemplate, app),
    deployment: fromTemplate(config.deploymentTemplate, app),
  };
}

interface CreateState {
  assoc?: Association;
  facts?: ConnInfo;
  vars?: Record<string, string>;
}

/** Merges a patch into the saga's association and stores it, recording the step. */
type SaveAssociation = (step: string, patch: Partial<Association>) => Promise<void>;

export class AddonSync {
  readonly associations: AssociationStore;
  private readonly env: EnvSecrets;
  private readonly deadline: number;

  constructor(private readonly deps: SyncDeps) {
    this.associations = new AssociationStore(deps.clients, deps.config.addonsNamespace);
    this.env = new EnvSecrets(deps.clients, deps.core);
    this.deadline = Date.now() + deps.config.timeoutMs;
  }

  /** Reads each app's associations and env Secret and computes its plan. */
  async plan(apps: AppDeclaration[]): Promise<AppPlan[]> {
    const limit = pLimit(this.deps.config.parallel);
    return Promise.all(
      apps.map((decl) =>
        limit(async () => {
          const target = targetFor(this.deps.config, decl.name);
          const existing = await this.associations.listForApp(decl.name);
          // An app without add-ons declared or attached needs no Secret read.
          const secret = existing.length || decl.addons?.length ? await this.env.read(target) : undefined;
          return planApp(decl, target, existing, secret, this.deps.config);
        }),
      ),
    );
  }

  async apply(plans: AppPlan[]): Promise<AppOutcome[]> {
    const needsWrites = plans.some((p) => p.items.some((i) => i.action !== 'unchanged' && !i.blocked));
    if (needsWrites) {
      for (const w of await registerProviders(this.deps.clients, this.deps.config.addonsNamespace))
        this.deps.core.info(`registered: ${w}`);
    }
    const limit = pLimit(this.deps.config.parallel);
    const outcomes = await Promise.all(plans.map((p) => limit(() => this.applyApp(p))));
    if (needsWrites) await this.collectSharedCluster();
    return outcomes;
  }

  private async applyApp(plan: AppPlan): Promise<AppOutcome> {
    const items: ItemOutcome[] = [];
    for (const item of plan.items) {
      if (item.blocked) {
        items.push({ item, result: 'failed', status: 'unchanged', message: item.blocked });
        continue;
      }
      try {
        items.push(await this.applyItem(plan, item));
      } catch (err) {
        items.push({
          item,
          result: 'failed',
          status: 'see message',
          message: `app '${plan.app}' ${item.addon}: ${describeErrorLine(err)}`,
        });
      }
    }
    return { app: plan.app, items };
  }

  private async applyItem(plan: AppPlan, item: PlanItem): Promise<ItemOutcome> {
    const current = await this.associations.get(plan.app, item.addon);
    switch (item.action) {
      case 'unchanged':
        return { item, result: 'unchanged', status: current?.status ?? 'none' };
      case 'remove': {
        if (!current) return { item, result: 'removed', status: 'removed' };
        await this.remove(current, 'remove', true);
        return { item, result: 'removed', status: 'removed' };
      }
      case 'create': {
        let assoc = current;
        if (assoc && item.finishRemovalFirst) assoc = await this.remove(assoc, assoc.intent ?? 'remove', false);
        return this.create(plan, item, assoc);
      }
      case 'update':
        if (!current || current.status !== 'active')
          throw new Error('the association changed since the plan was made; re-run the sync.');
        if (item.kind === 'grow') return this.grow(current, item);
        return this.reinject(current, item);
    }
  }

  private ctx(): BackendContext {
    const { core, clients, config } = this.deps;
    return { core, clients, config, deadline: this.deadline, log: (m) => core.info(m) };
  }

  private step(a: { app: string; addon: string }, phase: string, name: string): void {
    // One line per step: operators follow progress, and tests kill the process on these lines.
    this.deps.core.info(`addon-sync step: ${a.app}/${a.addon} ${phase} ${name}`);
  }

  private backendOf(addon: string, variant: string): BackendImpl {
    const v = variantOf(addon, variant);
    if (!v) throw new Error(`${addon} variant '${variant}' is not in the registry`);
    return BACKENDS[v.backend];
  }

  /** The provisioning saga: record -> provision -> wait usable -> record keys -> inject -> roll -> active. */
  private async create(plan: AppPlan, item: PlanItem, existing: Association | undefined): Promise<ItemOutcome> {
    const state: CreateState = { assoc: existing };
    const save = async (step: string, patch: Partial<Association>) => {
      state.assoc = await this.associations.update({ ...state.assoc!, ...patch }, step);
    };
    const result = await runSaga(this.createSteps(plan, item, state, save), state, {
      onStep: (phase, name) => this.step(item, phase, name),
    });
    if (result.ok) return { item, result: existing?.status === 'active' ? 'updated' : 'created', status: 'active' };
    const reason = describeSagaFailure(result);
    const message = `app '${plan.app}' ${item.addon}: ${reason}`;
    if (!state.assoc) return { item, result: 'failed', status: 'none', message };
    let status: string;
    try {
      if (result.compensated) await save('error', { status: 'error', reason, injectedKeys: [], intent: undefined });
      else await save('compensation-failed', { status: 'deprovisioning', intent: 'compensate', reason });
      status = state.assoc!.status;
    } catch (err) {
      // The association keeps its last (non-terminal) status: the next run resumes from there.
      status = `${state.assoc!.status} (could not record the failure: ${describeErrorLine(err)})`;
    }
    return { item, result: 'failed', status, message };
  }

  /** The association as the plan wants it, naming everything it will own. */
  private desired(plan: AppPlan, item: PlanItem, existing: Association | undefined): Association {
    const provider = providerOf(item.addon)!;
    const backend = this.backendOf(item.addon, item.variant);
    return {
      app: plan.app,
      addon: item.addon,
      variant: item.variant,
      version: item.version,
      locality: provider.locality,
      status: 'pending',
      reason: undefined,
      intent: undefined,
      target: plan.target,
      injectedKeys: existing?.injectedKeys ?? [],
      resources: backend.resources(this.deps.config, plan.app, item.addon),
    };
  }

  private createSteps(
    plan: AppPlan,
    item: PlanItem,
    state: CreateState,
    save: SaveAssociation,
  ): SagaStep<CreateState>[] {
    const variant = providerOf(item.addon)!.variants[item.variant];
    const backend = BACKENDS[variant.backend];
    const ctx = this.ctx();
    const desired = this.desired(plan, item, state.assoc);
    return [
      this.recordStep(desired, state, save),
      ...this.backendSteps(backend, ctx, variant, state, save),
      ...this.appSteps(plan, item, state, save),
    ];
  }

  /** Recorded BEFORE anything is created, with the names of everything it will own. */
  private recordStep(desired: Association, state: CreateState, save: SaveAssociation): SagaStep<CreateState> {
    return {
      name: 'record',
      run: async () => {
        if (state.assoc)
          await save('record', {
            ...desired,
            injectedKeys: state.assoc.injectedKeys,
            resourceVersion: state.assoc.resourceVersion,
          });
        else state.assoc = await this.associations.create(desired, 'record');
      },
    };
  }

  /** provision -> wait-usable -> record-keys: the backend's resources and the vars they give the app. */
  private backendSteps(
    backend: BackendImpl,
    ctx: BackendContext,
    variant: VariantSpec,
    state: CreateState,
    save: SaveAssociation,
  ): SagaStep<CreateState>[] {
    return [
      {
        name: 'provision',
        run: async () => {
          await save('provision', { status: 'provisioning' });
          await backend.provision(ctx, state.assoc!, variant);
        },
        undo: async () => backend.deprovision(ctx, state.assoc!),
      },
      {
        name: 'wait-usable',
        run: async () => {
          state.facts = await backend.waitUsable(ctx, state.assoc!);
          state.vars = envVarsFor(state.facts);
          maskEnv(this.deps.core, state.vars);
        },
      },
      {
        name: 'record-keys',
        run: async () => {
          const keys = Object.keys(state.vars!).sort();
          if (JSON.stringify(keys) !== JSON.stringify(state.assoc!.injectedKeys))
            await save('record-keys', { injectedKeys: keys });
        },
      },
    ];
  }

  /** inject-env -> roll -> activate: the app gets the vars. */
  private appSteps(plan: AppPlan, item: PlanItem, state: CreateState, save: SaveAssociation): SagaStep<CreateState>[] {
    return [
      {
        name: 'inject-env',
        run: async () => void (await this.env.inject(plan.target, item.addon, state.vars!)),
        undo: async () => {
          if (await this.env.remove(plan.target, item.addon)) await rollDeployment(this.deps.clients, plan.target);
        },
      },
      { name: 'roll', run: async () => void (await rollDeployment(this.deps.clients, plan.target)) },
      {
        name: 'activate',
        run: async () => save('activate', { status: 'active', reason: undefined, intent: undefined }),
      },
    ];
  }

  /**
   * Removal: env vars out of the app (and roll) first, then destroy, then delete the record.
   * Any failure stops here and keeps the association, so DATABASE_URL never points at a
   * deleted database and the next run retries.
   */
  async remove(a: Association, intent: 'remove' | 'compensate', deleteRecord: boolean): Promise<Association> {
    let assoc = a;
    if (assoc.status !== 'deprovisioning' || assoc.intent !== intent) {
      this.step(a, 'remove', 'mark-deprovisioning');
      assoc = await this.associations.update({ ...assoc, status: 'deprovisioning', intent }, 'mark-deprovisioning');
    }
    const fail = async (what: string, err: unknown): Promise<never> => {
      const reason =
        `${what} failed: ${describeErrorLine(err)}; ` +
        `the association and the add-on's resources are kept and the next run retries.`;
      await this.associations.update({ ...assoc, reason }, 'removal-failed').catch(() => {});
      throw new Error(reason);
    };
    try {
      this.step(a, 'remove', 'remove-env');
      if (await this.env.remove(assoc.target, assoc.addon)) {
        this.step(a, 'remove', 'roll');
        await rollDeployment(this.deps.clients, assoc.target);
      }
    } catch (err) {
      return fail('removing the env vars', err);
    }
    try {
      this.step(a, 'remove', 'destroy');
      await this.backendOf(assoc.addon, assoc.variant).deprovision(this.ctx(), assoc);
    } catch (err) {
      return fail('deprovisioning', err);
    }
    if (deleteRecord) {
      this.step(a, 'remove', 'delete-association');
      await this.associations.delete(assoc);
    }
    return assoc;
  }

  private async grow(a: Association, item: PlanItem): Promise<ItemOutcome> {
    const to = variantOf(item.addon, item.variant)!;
    this.step(a, 'update', 'grow');
    await this.backendOf(a.addon, a.variant).resize!(this.ctx(), a, to);
    this.step(a, 'update', 'record-variant');
    await this.associations.update({ ...a, variant: item.variant }, 'record-variant');
    return { item, result: 'updated', status: 'active' };
  }

  private async reinject(a: Association, item: PlanItem): Promise<ItemOutcome> {
    this.step(a, 'update', 'wait-usable');
    const vars = envVarsFor(await this.backendOf(a.addon, a.variant).waitUsable(this.ctx(), a));
    maskEnv(this.deps.core, vars);
    this.step(a, 'update', 'inject-env');
    if (await this.env.inject(a.target, a.addon, vars)) {
      this.step(a, 'update', 'roll');
      await rollDeployment(this.deps.clients, a.target);
    }
    return { item, result: 'updated', status: 'active' };
  }

  /** The shared Cluster goes when no association uses it (error records own nothing) and reclaim is delete. */
  private async collectSharedCluster(): Promise<void> {
    const { config, core, clients } = this.deps;
    if (config.reclaim !== 'delete') return;
    if (!(await getCluster(clients, config.addonsNamespace, config.sharedCluster))) return;
    const users = (await this.associations.list(`${Labels.component}=association,${Labels.variant}=shared`)).filter(
      (a) => a.status !== 'error',
    );
    if (users.length) return;
    core.info(
      `addon-sync step: shared-cluster remove ${config.addonsNamespace}/${config.sharedCluster} (no association uses it)`,
    );
    await deleteClusterAndWait(this.ctx(), config.addonsNamespace, config.sharedCluster);
  }
}
