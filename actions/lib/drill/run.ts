// cnpg-restore-drill: restore the live cluster's backups into an isolated cluster, compare it
// with live, measure RTO and RPO, record and report, and always tear down. The work is a
// pipeline of phases (pipeline.ts, phases/index.ts). A SIGTERM/SIGINT (job cancelled) aborts
// whatever runs and goes straight to the final phases (teardown first), within the grace window.
import type { Core } from '../core.js';
import { messageOf } from '../errors.js';
import { makeClients } from '../kube/client.js';
import { loadKubeConfig, type LoadedKubeConfig } from '../kube/config.js';
import { describeApiError, type RetryOptions } from '../kube/retry.js';
import { runUrl } from '../notify/slack.js';
import { readDrillInputs, type DrillInputs } from './inputs.js';
import { API_REQUEST_MS, EXIT_GRACE_MS, TEARDOWN_MS, TEARDOWN_RETRY } from './limits.js';
import { drillPipeline } from './phases/index.js';
import { Cancelled, runPipeline, type DrillContext } from './pipeline.js';
import type { DrillResult } from './result.js';
import { State } from './state.js';
import { removeCopies } from './recovery-copies.js';
import { liveNamespaceSite, openRecoverySite, type RecoverySite } from './recovery-site.js';
import { teardownCluster } from './teardown.js';

export interface RunDeps {
  env?: NodeJS.ProcessEnv;
  /** Where SIGTERM/SIGINT come from (tests pass an EventEmitter). */
  signals?: Pick<NodeJS.Process, 'once' | 'removeListener'>;
  /** Ends the process once the step is done (tests pass a no-op). */
  exit?: () => void;
}

export async function run(core: Core, deps: RunDeps = {}): Promise<DrillResult | undefined> {
  const controller = new AbortController();
  const signals = deps.signals ?? process;
  const onSignal = (sig: NodeJS.Signals) => () => {
    core.warning(`Received ${sig}: cancelling the drill and tearing down.`);
    controller.abort(new Cancelled(sig));
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  signals.once('SIGTERM', onTerm);
  signals.once('SIGINT', onInt);
  try {
    return await drill(core, deps.env ?? process.env, controller.signal);
  } finally {
    signals.removeListener('SIGTERM', onTerm);
    signals.removeListener('SIGINT', onInt);
    // Sockets of aborted port-forwards/queries must not keep a finished step alive.
    setTimeout(() => (deps.exit ?? process.exit)(), EXIT_GRACE_MS).unref();
  }
}

async function drill(core: Core, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<DrillResult | undefined> {
  let inputs: DrillInputs;
  let kube: LoadedKubeConfig | undefined;
  let site: RecoverySite;
  let clients: DrillContext['clients'];
  try {
    inputs = readDrillInputs(core);
    kube = loadKubeConfig(core, inputs.kubeconfig);
    clients = makeClients(kube.kc, API_REQUEST_MS);
    site = openRecoverySite(core, inputs, { kc: kube.kc, clients });
  } catch (err) {
    kube?.dispose();
    core.setFailed(messageOf(err));
    return undefined;
  }
  const ctx = createContext({ core, inputs, env, signal, clients, site });
  try {
    return (await runPipeline(ctx, drillPipeline)) ? ctx.result : undefined;
  } finally {
    site.dispose();
    kube.dispose();
  }
}

export interface ContextOptions {
  core: Core;
  inputs: DrillInputs;
  clients: DrillContext['clients'];
  /** Default: the live namespace (liveNamespaceSite). */
  site?: RecoverySite;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

/** A fresh context: an empty result (failed until proven), no facts, nothing owned. */
export function createContext({ core, inputs, clients, site, signal, env }: ContextOptions): DrillContext {
  const retry: RetryOptions = {
    signal,
    onRetry: (what, err, attempt, delay) => core.info(`retrying ${what} in ${Math.round(delay)} ms (attempt ${attempt}: ${describeApiError(err)})`),
  };
  const result: DrillResult = {
    verdict: 'failed',
    reasons: [],
    cluster: inputs.cluster,
    namespace: inputs.namespace,
    phases: [],
    tolerance: { tolerance: inputs.tolerance, floor: inputs.floor },
    databases: [],
    notes: [],
    runUrl: runUrl(env),
    startedAt: new Date().toISOString(),
  };
  const ctx: DrillContext = { core, inputs, clients, site: site ?? liveNamespaceSite(inputs.namespace, clients), retry, signal, env, result, log: (line) => core.info(line), facts: {}, owned: { sessions: [] } };
  signal.addEventListener('abort', () => (ctx.cancelledAt = Date.now()), { once: true });
  return ctx;
}

/** The post step: tear down from saved state (idempotent; nothing saved = nothing to do). */
export async function runPost(core: Core): Promise<void> {
  const name = core.getState(State.recoveryCluster);
  const namespace = core.getState(State.namespace);
  if (!name || !namespace) {
    core.info('No recovery cluster was created: nothing to tear down.');
    return;
  }
  if (core.getState(State.keep) === 'true') {
    core.warning(`keep-on-failure: recovery cluster ${namespace}/${name} is KEPT; delete it when done.`);
    return;
  }
  try {
    const input = (n: string) => core.getInput(n).trim() || undefined;
    const kube = loadKubeConfig(core, input('kubeconfig'));
    // The same recovery site as main (the live clients when it is the live cluster).
    const siteInputs = { namespace: '', kubeconfig: input('kubeconfig'), recoveryNamespace: namespace, recoveryKubeconfig: input('recovery-kubeconfig'), recoveryContext: input('recovery-context') };
    const site = openRecoverySite(core, siteInputs, { kc: kube.kc, clients: makeClients(kube.kc, API_REQUEST_MS) });
    try {
      const t = await teardownCluster(site.clients, namespace, name, { deadline: Date.now() + TEARDOWN_MS, log: (l) => core.info(l) });
      if (core.getState(State.copies) === 'true') {
        t.leftovers.push(...(await removeCopies(site.clients, namespace, name, { objectStores: core.getState(State.objectStoreCopy) === 'true', retry: TEARDOWN_RETRY })));
      }
      if (!t.leftovers.length) core.info(`Recovery cluster ${name} in ${site.where}: nothing left (verified in ${t.ms} ms).`);
      else core.setFailed(`teardown of ${namespace}/${name} incomplete: ${t.leftovers.join('; ')}`);
    } finally {
      site.dispose();
      kube.dispose();
    }
  } catch (err) {
    core.setFailed(`teardown of ${namespace}/${name} failed: ${messageOf(err)}`);
  } finally {
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  }
}
