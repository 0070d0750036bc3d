// cnpg-restore-drill: restore the live cluster's backups into an isolated cluster, compare it
// with live, measure RTO and RPO, record and report, and always tear down. The work is a
// pipeline of phases (pipeline.ts, phases/index.ts). A SIGTERM/SIGINT (job cancelled) aborts
// whatever runs and goes straight to the final phases (teardown first), within the grace window.
import type { Core } from '../core.js';
import { makeClients, type KubeClients } from '../kube/client.js';
import { loadKubeConfig, type LoadedKubeConfig } from '../kube/config.js';
import { type RetryOptions } from '../kube/retry.js';
import { failWithError } from '../report/outcome.js';
import { runUrl } from '../report/run-url.js';
import { readDrillInputs, readSlackInputsLeniently, type DrillInputs } from './inputs.js';
import { defaultReportPath, drillReport, writeReport } from './json-report.js';
import { API_REQUEST_MS, EXIT_GRACE_MS } from './limits.js';
import { drillPipeline } from './phases/index.js';
import { Cancelled, runAfterError, runPipeline, type DrillContext, type Pipeline } from './pipeline.js';
import { liveNamespaceSite, openRecoverySite, type RecoverySite } from './recovery-site.js';
import { drillResult, type DrillResult } from './result.js';
import { describeError } from '../errors.js';

export interface RunDeps {
  env?: NodeJS.ProcessEnv;
  /** Where SIGTERM/SIGINT come from (tests pass an EventEmitter). */
  signals?: Pick<NodeJS.Process, 'once' | 'removeListener'>;
  /** Ends the process once the step is done (tests pass a no-op). */
  exit?: () => void;
  /** The phases (default drillPipeline): the CLI's `plan` runs its read-only part; in-process tests inject a
   *  fault into a phase (test/drill/drill-errors.test.ts). The action's entry never sets it. */
  pipeline?: Pipeline;
  /** Where to write the JSON report (json-report.ts) and set output report-path: default in RUNNER_TEMP;
   *  '' writes none (the CLI writes its own, --report). */
  reportPath?: string;
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
    const env = deps.env ?? process.env;
    const result = await drill(core, env, controller.signal, deps.pipeline ?? drillPipeline);
    if (result && deps.reportPath !== '') {
      const path = deps.reportPath ?? defaultReportPath(env, result);
      if (writeReport(core, path, drillReport(result, { command: 'run' }))) core.setOutput('report-path', path);
    }
    return result;
  } finally {
    signals.removeListener('SIGTERM', onTerm);
    signals.removeListener('SIGINT', onInt);
    // Sockets of aborted port-forwards/queries must not keep a finished step alive.
    setTimeout(() => (deps.exit ?? process.exit)(), EXIT_GRACE_MS).unref();
  }
}

async function drill(
  core: Core,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  pipeline: Pipeline,
): Promise<DrillResult | undefined> {
  let inputs: DrillInputs;
  let kube: LoadedKubeConfig | undefined;
  let clients: DrillContext['clients'];
  let site: RecoverySite;
  try {
    inputs = readDrillInputs(core);
    kube = loadKubeConfig(core, inputs.kubeconfig);
    clients = makeClients(kube.kc, API_REQUEST_MS);
    site = openRecoverySite(core, inputs, { kc: kube.kc, clients });
  } catch (err) {
    kube?.dispose();
    return earlyError(core, env, signal, pipeline, err);
  }
  // What post needs to tear down alone (state.ts): the kubeconfig as used (the `context` input
  // applied: post may not see inputs), or as loaded from KUBECONFIG.
  const kubeconfig = kube.text ?? kube.kc.exportConfig();
  const ctx = createContext({ core, inputs, env, signal, kubeconfig, clients, site });
  try {
    return (await runPipeline(ctx, pipeline)) ? drillResult(ctx) : undefined;
  } finally {
    site.dispose();
    kube.dispose();
  }
}

/**
 * Bad input or an unusable kubeconfig, before any API call: the same alerting phases as a preflight
 * failure (Slack per slack-on, outputs, summary, the step failed with the fix), on what inputs could be read.
 */
async function earlyError(
  core: Core,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  pipeline: Pipeline,
  err: unknown,
): Promise<DrillResult | undefined> {
  if (!pipeline.afterPreflightError) {
    failWithError(core, err);
    return undefined;
  }
  // Only the alerting phases run: they read cluster, namespace, slack and the tolerance, nothing else.
  const raw = (name: string) => core.getInput(name).trim();
  const inputs = {
    cluster: raw('cluster') || '(cluster not set)',
    namespace: raw('namespace') || '(namespace not set)',
    tolerance: 0,
    floor: 0,
    slack: readSlackInputsLeniently(core),
    // A metrics sink still hears of the error (the "drill error" alert); a failing sink is only a warning.
    metrics: {
      pushgatewayUrl: raw('metrics-pushgateway-url') || undefined,
      textfile: raw('metrics-textfile') || undefined,
    },
  } as DrillInputs;
  const ctx = createContext({ core, inputs, env, signal, kubeconfig: '', clients: {} as KubeClients });
  await runAfterError(ctx, pipeline.afterPreflightError, err);
  return drillResult(ctx);
}

export interface ContextOptions {
  core: Core;
  inputs: DrillInputs;
  clients: DrillContext['clients'];
  /** Default: the live namespace (liveNamespaceSite). */
  site?: RecoverySite;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** Saved for the post step with the recovery cluster's name. */
  kubeconfig: string;
}

/** A fresh context: no facts (the result is failed until proven), nothing owned. */
export function createContext({ core, inputs, clients, site, signal, env, kubeconfig }: ContextOptions): DrillContext {
  const retry: RetryOptions = {
    signal,
    onRetry: (what, err, attempt, delay) =>
      core.info(`retrying ${what} in ${Math.round(delay)} ms (attempt ${attempt}: ${describeError(err)})`),
  };
  const ctx: DrillContext = {
    core,
    inputs,
    clients,
    site: site ?? liveNamespaceSite(inputs.namespace, clients),
    retry,
    signal,
    env,
    kubeconfig,
    run: {
      cluster: inputs.cluster,
      namespace: inputs.namespace,
      tolerance: { tolerance: inputs.tolerance, floor: inputs.floor },
      runUrl: runUrl(env),
      startedAt: new Date().toISOString(),
      phases: [],
    },
    log: (line) => core.info(line),
    facts: {},
    owned: { sessions: [] },
  };
  signal.addEventListener('abort', () => (ctx.cancelledAt = Date.now()), { once: true });
  return ctx;
}
