// platform-install: render and check the platform chart, apply its CRDs, helm upgrade --install
// with rollback on failure, then verify the operator actually runs the expected version.
// Nothing is written to the cluster until every check has passed.
import semver from 'semver';
import type { Core } from '../core.js';
import { describeError, VerdictError } from '../errors.js';
import { InputError } from '../inputs.js';
import { checkReachable, makeClients, type KubeClients } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { ChartTree } from './chart-files.js';
import { checkCrdGroups } from './checks/crd-groups.js';
import { crdOwnershipProblems } from './checks/crd-ownership.js';
import { dryRunObjects } from './checks/dry-run.js';
import { checkSchedules } from './checks/schedules.js';
import { applyCrdsBeforeHelm, snapshotCrds, templatedCrds, verifyTemplatedCrds } from './crds.js';
import { collectDiagnostics } from './diagnostics.js';
import { discover, type Discovery } from './discovery.js';
import { Helm, HelmError, lastLines, valueArgs } from './helm.js';
import { readPlatformInputs, type PlatformInputs } from './inputs.js';
import {
  findOperator,
  minorSkipProblem,
  readRunningOperator,
  sameVersion,
  waitForOperator,
  type OperatorTarget,
} from './operator.js';
import { dependencyUpdate, renderChart } from './render.js';
import { failWithError, writeSummary } from '../report/outcome.js';
import { renderReport, type CheckState, type InstallReport, type ReleaseSnapshot } from './report.js';

// How long the verification waits for the operator's rollout when helm did not (wait: false).
const OPERATOR_SETTLE_MAX_MS = 5 * 60_000;

export async function run(core: Core): Promise<void> {
  let inputs: PlatformInputs;
  try {
    inputs = readPlatformInputs(core);
  } catch (err) {
    failWithError(core, err);
    return;
  }
  const report = emptyReport(inputs);
  let kube: ReturnType<typeof loadKubeConfig> | undefined;
  try {
    kube = loadKubeConfig(core, inputs.kubeconfig);
    await install(core, inputs, kube, report);
  } catch (err) {
    const reasons = err instanceof VerdictError ? err.reasons : [describeError(err)];
    report.problems.push(...reasons.filter((r) => !report.problems.includes(r)));
    failWithError(core, err);
  } finally {
    kube?.dispose();
  }
  // An unusable kubeconfig or unreachable cluster is an input problem: one line, no report.
  if (report.checks.length || report.outcome === 'installed') await writeSummary(core, renderReport(report));
}

function emptyReport(inputs: PlatformInputs): InstallReport {
  return {
    release: inputs.release,
    namespace: inputs.namespace,
    before: {},
    after: {},
    checks: [],
    crds: [],
    outcome: 'failed',
    problems: [],
    startedAt: Date.now(),
  };
}

/** What every step of the install reads: the clients, the chart, the report it fills. */
interface Install {
  core: Core;
  inputs: PlatformInputs;
  clients: KubeClients;
  helm: Helm;
  tree: ChartTree;
  report: InstallReport;
  check: (name: string, state: CheckState, detail: string) => void;
}

type Rendered = Awaited<ReturnType<typeof renderChart>>;

// The verdict when no Deployment in the rendered chart looks like the operator's.
const NO_OPERATOR_DEPLOYMENT =
  `No operator Deployment found in the rendered chart (looked for a Deployment ` +
  `whose name or app.kubernetes.io/name mentions cloudnative-pg or cnpg); set ` +
  `operator-deployment (and operator-namespace) to the operator's Deployment.`;

async function install(
  core: Core,
  inputs: PlatformInputs,
  kube: ReturnType<typeof loadKubeConfig>,
  report: InstallReport,
): Promise<void> {
  const clients = makeClients(kube.kc);
  const kubeVersion = await checkReachable(clients).catch((err) => {
    throw new InputError('kubeconfig', describeError(err));
  });
  const check = (name: string, state: CheckState, detail: string) => report.checks.push({ name, state, detail });
  const ctx: Install = {
    core,
    inputs,
    clients,
    helm: new Helm(core, inputs.helmPath, kube.path),
    tree: new ChartTree(inputs.chart),
    report,
    check,
  };
  const { discovery, rendered } = await render(ctx, kubeVersion);
  // 2. What runs now, and what the chart will run.
  const status = await releaseStatus(ctx.helm, inputs);
  Object.assign(report.before, status);
  const operator = findOperator(rendered, ctx.tree, inputs);
  if (!operator) throw new VerdictError([NO_OPERATOR_DEPLOYMENT]);
  report.expectedOperatorVersion = operator.expectedVersion;
  report.expectedFrom = operator.expectedFrom;
  const runningBefore = await readRunningOperator(clients, operator);
  report.before.operatorVersion = runningBefore?.version;
  const crdsBefore = await offlineChecks(ctx, {
    discovery,
    rendered,
    status,
    operator,
    runningVersion: runningBefore?.version,
  });
  await dryRun(ctx, discovery, rendered);
  // 4. CRDs (crds.ts): crds/ folders on every run, templated ones the release needs first.
  const { applied, createdFirst } = await applyCrdsBeforeHelm(core, clients, rendered, discovery.kind, inputs);
  report.crds = applied;
  core.setOutput('crds-applied', applied.map((c) => c.name).join(','));
  check(
    'CRDs applied and Established',
    'passed',
    `${applied.length - createdFirst.length} from crds/ folders` +
      `${createdFirst.length ? `; templated, created first for Helm to adopt: ${createdFirst.join(', ')}` : ''}`,
  );
  const diagnose = diagnoser(ctx, rendered, operator);
  await upgrade(ctx, diagnose);
  const helmCrds = await verifyTemplatedCrds(core, clients, templatedCrds(rendered), crdsBefore, createdFirst);
  report.crds = [...report.crds.filter((c) => !createdFirst.includes(c.name)), ...helmCrds];
  if (helmCrds.length) check("templated CRDs (Helm's) Established", 'passed', `${helmCrds.length} CRD(s)`);
  await verify(ctx, operator, diagnose);
}

/** 1. Render exactly what the upgrade will apply. */
async function render(
  { core, inputs, clients, helm, tree, report, check }: Install,
  kubeVersion: string,
): Promise<{ discovery: Discovery; rendered: Rendered }> {
  if (inputs.skipDependencyUpdate)
    check('helm dependency update', 'skipped', 'skip-dependency-update: true (vendored subcharts)');
  else {
    await core.group('helm dependency update', () => dependencyUpdate(helm, inputs.chart));
    check('helm dependency update', 'passed', 'subcharts fetched into charts/');
  }
  const discovery = await discover(clients);
  const rendered = await renderChart(helm, {
    chart: inputs.chart,
    release: inputs.release,
    namespace: inputs.namespace,
    valuesFiles: inputs.valuesFiles,
    set: inputs.set,
    apiVersions: discovery.groupVersions,
    kubeVersion,
  });
  const chartMeta = tree.rootMeta();
  report.chartName = chartMeta?.name;
  report.chartVersion = chartMeta?.version;
  core.info(`Rendered ${rendered.length} objects from ${chartMeta?.name} ${chartMeta?.version}`);
  return { discovery, rendered };
}

interface Planned {
  discovery: Discovery;
  rendered: Rendered;
  status: ReleaseSnapshot;
  operator: OperatorTarget;
  runningVersion: string | undefined;
}

/** 3. Offline checks; all problems are reported together, before any write. Returns the templated CRDs as they are now. */
async function offlineChecks(
  { inputs, clients, tree, report, check }: Install,
  { discovery, rendered, status, operator, runningVersion }: Planned,
) {
  const problems: string[] = [];
  const missing = await checkCrdGroups(rendered, discovery, tree);
  check(
    'API groups served or defined by the chart',
    missing.length ? 'failed' : 'passed',
    missing.length
      ? `${missing.length} object(s) need groups the cluster lacks: ${[...new Set(missing.map((m) => m.group))].join(', ')}`
      : `${rendered.length} objects`,
  );
  problems.push(...missing.map((m) => m.message));
  const schedules = checkSchedules(rendered);
  check(
    'CNPG ScheduledBackup schedules',
    schedules.problems.length ? 'failed' : schedules.checked ? 'passed' : 'skipped',
    schedules.checked ? `${schedules.checked} schedule(s)` : 'the chart renders no ScheduledBackup',
  );
  problems.push(...schedules.problems.map((p) => p.message));
  if (status.status?.startsWith('pending-')) {
    problems.push(
      `release ${inputs.release} is in state ${status.status} (an earlier run was interrupted); ` +
        `roll it back with \`helm rollback ${inputs.release} -n ${inputs.namespace}\` before installing again.`,
    );
  }
  problems.push(...operatorPreChecks(inputs, operator, runningVersion, check));
  const crdsBefore = await snapshotCrds(clients, templatedCrds(rendered));
  const unowned = crdOwnershipProblems(templatedCrds(rendered), crdsBefore, tree, inputs.release, inputs.namespace);
  const onCluster = [...crdsBefore.values()].filter(Boolean).length;
  if (onCluster)
    check(
      'templated CRDs on the cluster owned by this release',
      unowned.length ? 'failed' : 'passed',
      `${onCluster - unowned.length} of ${onCluster}`,
    );
  problems.push(...unowned);
  if (problems.length) {
    report.outcome = 'refused';
    throw new VerdictError(problems);
  }
  return crdsBefore;
}

/** The API server (admission webhooks included) judges every rendered object before any write. */
async function dryRun(
  { inputs, clients, report, check }: Install,
  discovery: Discovery,
  rendered: Rendered,
): Promise<void> {
  const dry = await dryRunObjects(clients, discovery, rendered, inputs.namespace);
  const why = [...new Set(dry.skipped.map((s) => s.why))].join('; ');
  const skipped = dry.skipped.length ? `; ${dry.skipped.length} skipped (${why})` : '';
  check(
    'server-side dry-run (dryRun=All)',
    dry.problems.length ? 'failed' : 'passed',
    `${dry.checked} object(s) accepted${skipped}`,
  );
  if (dry.problems.length) {
    report.outcome = 'refused';
    throw new VerdictError(dry.problems);
  }
}

/** Collects the diagnostics into the report, returning the causes found. */
function diagnoser(
  { core, inputs, clients, helm, report }: Install,
  rendered: Rendered,
  operator: OperatorTarget,
): () => Promise<string[]> {
  const since = new Date();
  return async () => {
    const diag = await collectDiagnostics(core, clients, helm, {
      release: inputs.release,
      namespaces: [...new Set([inputs.namespace, operator.namespace])],
      selectors: operatorSelector(rendered, operator),
      since,
    });
    report.diagnostics = diag.markdown;
    return diag.causes;
  };
}

/** 5. The upgrade, rolled back by helm itself on failure or timeout. */
async function upgrade(
  { core, inputs, helm, report, check }: Install,
  diagnose: () => Promise<string[]>,
): Promise<void> {
  try {
    await core.group('helm upgrade --install', () => helm.run(upgradeArgs(inputs), { stream: true }));
  } catch (err) {
    if (!(err instanceof HelmError)) throw err;
    check('helm upgrade --install', 'failed', lastLines(err.result.stderr, 2));
    Object.assign(report.after, await releaseStatus(helm, inputs));
    const causes = await diagnose();
    const rolledBack = inputs.atomic ? ' Helm rolled the release back.' : '';
    throw new VerdictError([
      `helm upgrade failed: ${lastLines(err.result.stderr || err.result.stdout, 3)}.${rolledBack}`,
      ...causes.slice(0, 5),
    ]);
  }
  Object.assign(report.after, await releaseStatus(helm, inputs));
  check('helm upgrade --install', 'passed', `revision ${report.after.revision}`);
  core.setOutput('revision', String(report.after.revision ?? ''));
  core.setOutput('chart-version', report.after.chartVersion ?? '');
}

/** 6. Verify what actually runs (a green helm run is not an operator upgrade). */
async function verify(
  { core, inputs, clients, report, check }: Install,
  operator: OperatorTarget,
  diagnose: () => Promise<string[]>,
): Promise<void> {
  const running = await waitForOperator(
    clients,
    operator,
    Date.now() + Math.min(inputs.helmTimeoutMs, OPERATOR_SETTLE_MAX_MS),
  );
  report.after.operatorVersion = running?.version;
  if (running) core.setOutput('operator-version', running.version);
  const verdict = verifyOperator(operator, running);
  check(
    'operator running the expected version',
    verdict.length ? 'failed' : 'passed',
    verdict.length ? verdict[0] : `${operator.namespace}/${operator.name} runs ${running?.version}, available`,
  );
  if (verdict.length) {
    const causes = (await diagnose()).filter((c) => !verdict.some((v) => v.includes(c)));
    throw new VerdictError([...verdict, ...causes.slice(0, 3)]);
  }
  report.outcome = 'installed';
  core.info(
    `platform-install: revision ${report.after.revision}, operator ${running?.version}, ${report.crds.length} CRD(s) applied`,
  );
}

function operatorPreChecks(
  inputs: PlatformInputs,
  op: OperatorTarget,
  running: string | undefined,
  check: (n: string, s: CheckState, d: string) => void,
): string[] {
  const name = 'operator minor-version step';
  if (!op.expectedVersion) {
    check(name, 'skipped', `no expected version (${op.expectedFrom}); set expected-operator-version`);
    return [];
  }
  if (op.renderedTag && !sameVersion(op.renderedTag, op.expectedVersion)) {
    // Not fatal here: the post-install check fails if the pinned tag is what ends up running.
    check(
      'rendered operator image tag',
      'warning',
      `the chart renders image tag ${op.renderedTag} but expects ${op.expectedVersion} ` +
        `(${op.expectedFrom}): is an image tag pinned in the values?`,
    );
  }
  if (!running) {
    check(name, 'passed', `fresh install of ${op.expectedVersion}`);
    return [];
  }
  if (!semver.coerce(running)) {
    check(
      name,
      'skipped',
      `the running operator's image tag '${running}' is not a version (a digest or 'latest'); the step cannot be judged`,
    );
    return [];
  }
  const skip = minorSkipProblem(running, op.expectedVersion);
  if (skip && !inputs.allowMinorSkip) {
    check(name, 'failed', `${running} -> ${op.expectedVersion}`);
    const where = op.source
      ? ` (${op.source}, version from the ${op.expectedFrom})`
      : ` (version from ${op.expectedFrom})`;
    return [`Deployment ${op.namespace}/${op.name}${where}: ${skip}`];
  }
  check(name, 'passed', `${running} -> ${op.expectedVersion}${skip ? ' (allowed by allow-minor-skip)' : ''}`);
  return [];
}

function verifyOperator(op: OperatorTarget, running: Awaited<ReturnType<typeof readRunningOperator>>): string[] {
  if (!running)
    return [
      `the operator Deployment ${op.namespace}/${op.name} does not exist ` +
        `after the install; check operator-deployment / operator-namespace.`,
    ];
  const problems: string[] = [];
  if (op.expectedVersion && !sameVersion(running.version, op.expectedVersion)) {
    const pinned =
      op.renderedTag && !sameVersion(op.renderedTag, op.expectedVersion)
        ? ` The chart rendered image tag ${op.renderedTag}: an image tag pinned in the values overrides the chart's version.`
        : '';
    const unmanaged = op.managedByChart
      ? ''
      : ' The Deployment is not part of the chart, so the install did not change it.';
    problems.push(
      `the operator ${op.namespace}/${op.name} runs ${running.version} (image ${running.image}) ` +
        `but ${op.expectedVersion} is expected (${op.expectedFrom}).${pinned}${unmanaged}`,
    );
  }
  if (!running.available)
    problems.push(`the operator ${op.namespace}/${op.name} is not available: ${running.problems.join('; ')}.`);
  return problems;
}

function operatorSelector(rendered: Rendered, op: OperatorTarget): { namespace: string; labelSelector: string }[] {
  const d = rendered.find((r) => r.object.kind === 'Deployment' && r.object.metadata.name === op.name);
  const labels = (d?.object.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector
    ?.matchLabels;
  return labels
    ? [
        {
          namespace: op.namespace,
          labelSelector: Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        },
      ]
    : [];
}

export function upgradeArgs(inputs: PlatformInputs): string[] {
  const args = ['upgrade', inputs.release, inputs.chart, '--install', '--namespace', inputs.namespace];
  // Helm's own timeout, nested inside the step's timeout-minutes: helm rolls back on expiry
  // instead of being killed mid-wait. CRDs are ours (crds.ts), so helm skips them.
  args.push('--timeout', `${Math.round(inputs.helmTimeoutMs / 1000)}s`, '--skip-crds');
  if (inputs.createNamespace) args.push('--create-namespace');
  if (inputs.atomic) args.push('--rollback-on-failure'); // Helm 4's name for --atomic
  if (inputs.wait) args.push(`--wait=${inputs.wait}`);
  args.push(...valueArgs(inputs.valuesFiles, inputs.set));
  return args;
}

async function releaseStatus(helm: Helm, inputs: PlatformInputs): Promise<ReleaseSnapshot> {
  // `helm get metadata` (Helm >= 3.13) carries chart version, revision and status in one small JSON.
  const res = await helm.run(['get', 'metadata', inputs.release, '--namespace', inputs.namespace, '-o', 'json'], {
    allowFailure: true,
  });
  if (res.exitCode !== 0) {
    if (/not found/i.test(res.stderr)) return {};
    throw new HelmError(['get', 'metadata', inputs.release], res);
  }
  const m = JSON.parse(res.stdout) as { revision?: number; status?: string; version?: string };
  return { revision: m.revision, status: m.status, chartVersion: m.version };
}
