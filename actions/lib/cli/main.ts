// cnpg-restore-drill, the CLI: the action's engine (drill/run.ts) with a `core` fed by flags
// (core.ts). Exit codes: 0 passed, 1 failed (status: a stale cluster), 2 usage error, 3 drill
// error (the drill could not judge, or crashed).
import { stringify } from 'yaml';
import type { Core } from '../core.js';
import { describeError } from '../errors.js';
import { InputError } from '../inputs.js';
import { makeClients } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { API_REQUEST_MS } from '../drill/limits.js';
import type { DrillResult } from '../drill/result.js';
import { run, type RunDeps } from '../drill/run.js';
import { drillReport, writeReport } from '../drill/json-report.js';
import { drillSlackMessage } from '../drill/slack.js';
import { readSlackInputsLeniently } from '../drill/inputs.js';
import { helpText, parseCli, UsageError, type CliArgs } from './args.js';
import { cliCore, type CliIo, type CliRecord } from './core.js';
import { kubeconfigInput } from './kubeconfig.js';
import { planPipeline, type DrillPlan } from './plan.js';
import { fleetTable, readFleet } from './status.js';

export const Exit = { passed: 0, failed: 1, usage: 2, error: 3 } as const;

export interface CliDeps extends CliIo, Pick<RunDeps, 'exit' | 'signals'> {
  env: NodeJS.ProcessEnv;
  /** stdout: the result (JSON, the plan, the fleet table). */
  out(text: string): void;
}

export async function main(argv: string[], deps: CliDeps): Promise<number> {
  let args: CliArgs;
  const inputs: Record<string, string> = {};
  try {
    args = parseCli(argv, deps.env);
    if (args.help) return (deps.out(helpText()), Exit.passed);
    Object.assign(inputs, args.inputs);
    const kubeconfig = kubeconfigInput(args.kubeconfigPath);
    if (kubeconfig) inputs.kubeconfig = kubeconfig;
  } catch (err) {
    return usage(deps, err);
  }
  const { core, record } = cliCore(inputs, deps);
  try {
    if (args.command === 'status') return await status(core, inputs, args, deps);
    return await drill(core, record, args, deps);
  } catch (err) {
    if (err instanceof UsageError || err instanceof InputError) return usage(deps, err);
    core.error(describeError(err));
    return Exit.error;
  }
}

function usage(deps: CliDeps, err: unknown): number {
  if (!(err instanceof UsageError || err instanceof InputError)) throw err;
  deps.err(`cnpg-restore-drill: ${err.message}\nRun cnpg-restore-drill --help for the commands and flags.`);
  return Exit.usage;
}

/** `run` and `plan`: the action's run() with the full pipeline, or the plan's read-only part. */
async function drill(core: Core, record: CliRecord, args: CliArgs, deps: CliDeps): Promise<number> {
  const holder: { plan?: DrillPlan } = {};
  const plan = args.command === 'plan';
  const result = await run(core, {
    env: deps.env,
    exit: deps.exit,
    signals: deps.signals,
    pipeline: plan ? planPipeline(holder) : undefined,
    reportPath: '',
  });
  if (!result) return Exit.usage;
  const code = plan ? (holder.plan ? Exit.passed : Exit.failed) : exitCode(result);
  const report = drillReport(result, { command: args.command, plan: holder.plan });
  if (args.report && !writeReport(core, args.report, report)) return Exit.error;
  const slack = args.printSlack && !plan ? { slack: cliSlackMessage(core, result) } : {};
  if (args.json)
    deps.out(JSON.stringify({ exitCode: code, outputs: record.outputs, ...report, ...slack }, null, 2) + '\n');
  else if (holder.plan) deps.out(planText(holder.plan));
  else deps.out(`${verdictLine(result)}\n${slack.slack ? `${JSON.stringify(slack.slack, null, 2)}\n` : ''}`);
  if (plan && !holder.plan) deps.err(`the drill would not get this far: ${result.reasons.join('; ')}`);
  return code;
}

/** --print-slack: the payload the drill would post, read through the drill's own Slack inputs. */
function cliSlackMessage(core: Core, result: DrillResult) {
  const slack = readSlackInputsLeniently(core);
  return drillSlackMessage(result, slack.environment, slack.mention);
}

/** A bad input (a flag's value, a cluster that does not exist) is a usage error, whichever phase found it. */
export function exitCode(result: DrillResult): number {
  const verdict: string = result.verdict;
  if (verdict === 'passed') return Exit.passed;
  if (verdict === 'failed') return Exit.failed;
  return result.error?.kind === 'input' ? Exit.usage : Exit.error;
}

const verdictLine = (r: DrillResult) =>
  `restore drill ${r.verdict.toUpperCase()}: ${r.namespace}/${r.cluster}` +
  (r.rtoSeconds !== undefined ? `, RTO ${r.rtoSeconds} s` : '') +
  (r.reasons.length ? `\n${r.reasons.map((x) => `  - ${x}`).join('\n')}` : '');

function planText(p: DrillPlan): string {
  return [
    '# The recovery Cluster a run would create',
    stringify(p.recoveryCluster).trimEnd(),
    '# Copies at the recovery site',
    ...(p.copies.length ? p.copies.map((c) => `#   ${c}`) : ['#   none (the recovery runs in the live namespace)']),
    '# Checks',
    ...p.checks.map((c) => `#   - ${c}`),
    '',
  ].join('\n');
}

async function status(core: Core, inputs: Record<string, string>, args: CliArgs, deps: CliDeps): Promise<number> {
  const kube = loadKubeConfig(core, inputs.kubeconfig);
  try {
    const clients = makeClients(kube.kc, API_REQUEST_MS);
    const rows = await readFleet(clients, {
      namespace: inputs.namespace,
      maxAge: args.maxAge,
      selector: args.selector,
    });
    const stale = rows.filter((r) => r.stale);
    if (args.json) deps.out(JSON.stringify({ maxAge: args.maxAge ?? null, clusters: rows }, null, 2) + '\n');
    else deps.out(fleetTable(rows));
    for (const r of stale)
      deps.err(
        `stale: ${r.namespace}/${r.cluster} ${r.never ? 'was never drilled' : `has no passing drill within ${args.maxAge}`}`,
      );
    return stale.length ? Exit.failed : Exit.passed;
  } finally {
    kube.dispose();
  }
}
