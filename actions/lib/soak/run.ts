// soak-gate-check: measures the replication soak (gates 1-5), reads the restore-drill record
// (gate 6), appends this run's sample to the history in the cluster and judges the clean
// streak against the window (gate 7). Both databases are only read (ReadOnlyDb); the history
// ConfigMap is the one thing written.
import { getOctokit } from '@actions/github';
import { getCluster } from '../cnpg/api.js';
import { bootstrapSource } from '../cnpg/bootstrap.js';
import { Label, type Cluster } from '../cnpg/types.js';
import type { Core } from '../core.js';
import { describeError } from '../errors.js';
import { InputError } from '../inputs.js';
import { checkReachable, makeClients, type KubeClients } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { statusOf, withRetry } from '../kube/retry.js';
import { readSecret } from '../kube/secrets.js';
import { connectToPrimary } from '../postgres/cluster-connection.js';
import { compareCounts } from '../postgres/compare-counts.js';
import { ReadOnlyDb } from '../postgres/readonly.js';
import { countRows } from '../postgres/rowcounts.js';
import { checkCoverage, type Coverage } from './coverage.js';
import { judgeDrill, readDrillRecord } from './drill-record.js';
import { latestSuccessfulRun, type WorkflowRun } from './drill-workflow.js';
import {
  coverageGate,
  drillGate,
  healthGate,
  lagGate,
  rowCountGate,
  STREAK_GATES,
  tablesReadyGate,
  unmeasuredGate,
  windowGate,
  type Gate,
  type GateName,
} from './gates.js';
import { appendSample, computeStreak, type HistoryRecord, type Sample, type Streak } from './history.js';
import { historyName, HISTORY_LABELS, updateHistory, type HistoryTarget } from './history-store.js';
import { readSoakInputs, type SoakInputs } from './inputs.js';
import { publisherConnInfo, readPublisher, type PublisherState } from './publisher.js';
import { failWithError, failWithReasons, writeSummary } from '../report/outcome.js';
import { renderReport } from './report.js';
import { readSubscriber, type SubscriberState } from './subscriber.js';
import { isExcluded } from './tables.js';

export interface SoakResult {
  passed: boolean;
  gates: Gate[];
  streak?: Streak;
}

const APP_NAME = 'soak-gate-check';

export async function run(core: Core): Promise<SoakResult | undefined> {
  let inputs: SoakInputs;
  try {
    inputs = readSoakInputs(core);
  } catch (err) {
    failWithError(core, err);
    return undefined;
  }
  try {
    return await check(core, inputs);
  } catch (err) {
    failWithError(core, err);
    return undefined;
  }
}

async function check(core: Core, inputs: SoakInputs): Promise<SoakResult> {
  const kube = loadKubeConfig(core, inputs.kubeconfig);
  const closers: (() => Promise<void>)[] = [];
  try {
    const clients = makeClients(kube.kc);
    await checkReachable(clients);
    const cluster = await getCluster(clients, inputs.namespace, inputs.cluster);
    if (!cluster)
      throw new InputError(
        'cluster',
        `Cluster ${inputs.namespace}/${inputs.cluster} was not found; check cluster and namespace.`,
      );
    const pubDb = await openPublisher(core, clients, inputs, closers);
    const health = await measureHealth(clients, cluster).catch((err) =>
      unmeasuredGate('cluster-health', 'healthy', err),
    );
    const sides = await readSides(core, clients, cluster, inputs, pubDb, closers);
    const gates = [
      health,
      ...(await replicationGates(inputs, sides, pubDb)),
      await restoreDrill(core, clients, inputs, new Date(), process.env),
    ];
    const { streak, history, notes } = await recordSample(core, clients, inputs, gates, sides);
    return report(core, inputs, gates, streak, history, notes);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    kube.dispose();
  }
}

const dbOptions = (inputs: SoakInputs) => ({
  statementTimeoutMs: inputs.statementTimeoutMs,
  poolSize: 4,
  applicationName: APP_NAME,
});

/** The publisher, from its connection Secret (a missing Secret is an input error). */
async function openPublisher(
  core: Core,
  clients: KubeClients,
  inputs: SoakInputs,
  closers: (() => Promise<void>)[],
): Promise<ReadOnlyDb> {
  const ref = `${inputs.publisherSecretNamespace}/${inputs.publisherSecret}`;
  const secret = await readSecret(core, clients, inputs.publisherSecretNamespace, inputs.publisherSecret).catch(
    (err) => {
      if (statusOf(err) === 404)
        throw new InputError(
          'publisher-secret',
          `Secret ${ref} was not found; create it or fix publisher-secret / publisher-secret-namespace.`,
        );
      throw err;
    },
  );
  const pubDb = new ReadOnlyDb(publisherConnInfo(secret, ref), dbOptions(inputs));
  closers.push(() => pubDb.close());
  return pubDb;
}

interface Sides {
  sub?: SubscriberState;
  subDb?: ReadOnlyDb;
  pub?: PublisherState;
  slotName: string;
  /** Why a side could not be read (its gates are then unmeasured). */
  error?: unknown;
}

/** Both sides of the replication: subscriber first, it names the publisher-side slot. */
async function readSides(
  core: Core,
  clients: KubeClients,
  cluster: Cluster,
  inputs: SoakInputs,
  pubDb: ReadOnlyDb,
  closers: (() => Promise<void>)[],
): Promise<Sides> {
  let sub: SubscriberState | undefined;
  let subDb: ReadOnlyDb | undefined;
  let subError: unknown;
  try {
    const conn = await connectToPrimary(core, clients, cluster, {
      mode: inputs.connectionMode,
      database: inputs.database,
    });
    closers.push(() => conn.close());
    subDb = new ReadOnlyDb(conn.conn, dbOptions(inputs));
    closers.push(() => subDb!.close());
    sub = await readSubscriber(subDb, inputs.subscription);
  } catch (err) {
    subError = new Error(`subscriber ${inputs.namespace}/${inputs.cluster} not readable: ${describeError(err)}`);
  }
  if (sub && !sub.subscription) {
    throw new InputError(
      'subscription',
      `no subscription '${inputs.subscription}' in the subscriber's database ${subDb?.conn.database}; check subscription and database.`,
    );
  }
  if (sub?.subscription && !sub.subscription.publications.includes(inputs.publication)) {
    throw new InputError(
      'publication',
      `subscription '${inputs.subscription}' subscribes to ${sub.subscription.publications.join(', ')}, not '${inputs.publication}'.`,
    );
  }
  const slotName = sub?.subscription?.slotName ?? inputs.subscription;
  const pubConn = pubDb.conn;
  let pub: PublisherState | undefined;
  let pubError: unknown;
  try {
    pub = await readPublisher(pubDb, inputs.publication, slotName);
  } catch (err) {
    pubError = new Error(
      `publisher ${pubConn.host}:${pubConn.port}/${pubConn.database} not readable: ${describeError(err)}`,
    );
  }
  if (pub && !pub.publication) {
    throw new InputError(
      'publication',
      `no publication '${inputs.publication}' in the publisher's database ${pubConn.database}; check publication and the Secret's dbname.`,
    );
  }
  return { sub, subDb, pub, slotName, error: subError ?? pubError };
}

/** Gates 2-5 (tables ready, lag, coverage, row counts): unmeasured where a side could not be read. */
async function replicationGates(
  inputs: SoakInputs,
  { sub, subDb, pub, slotName, error }: Sides,
  pubDb: ReadOnlyDb,
): Promise<Gate[]> {
  const gates: Gate[] = [sub ? tablesReadyGate(sub) : unmeasuredGate('tables-ready', 'all in state r', error)];
  if (!sub || !pub || !subDb) {
    gates.push(
      unmeasuredGate('lag', 'within thresholds', error),
      unmeasuredGate('coverage', 'publication = both sides', error),
      unmeasuredGate('row-counts', 'within tolerance', error),
    );
    return gates;
  }
  const coverage: Coverage = checkCoverage(pub, sub, inputs.exclude);
  gates.push(
    lagGate(sub, pub, slotName, inputs),
    coverageGate(coverage, pub.published.length),
    await rowCounts(inputs, pub, sub, pubDb, subDb),
  );
  return gates;
}

/** Gate 7: this run's sample joins the history, then the streak is judged from the record. */
async function recordSample(
  core: Core,
  clients: KubeClients,
  inputs: SoakInputs,
  gates: Gate[],
  { sub, pub }: Sides,
): Promise<{ streak?: Streak; history?: HistoryRecord; notes: string[] }> {
  const failingNow = gates.filter((g) => !g.passed && STREAK_GATES.includes(g.name)).map((g) => g.name);
  const sample: Sample = {
    t: new Date().toISOString(),
    ok: failingNow.length === 0,
    ...(failingNow.length ? { fail: failingNow } : {}),
    ...(sub?.worker?.lagBytes !== undefined ? { lag: sub.worker.lagBytes } : {}),
    ...(pub?.slot?.retainedBytes !== undefined ? { slot: pub.slot.retainedBytes } : {}),
    ...(sub?.worker?.messageAgeSeconds !== undefined
      ? { age: Math.round(sub.worker.messageAgeSeconds * 10) / 10 }
      : {}),
  };
  const notes: string[] = [];
  try {
    const written = await updateHistory(clients, historyTarget(inputs), (current) =>
      appendSample(current, sample, inputs.historySize, inputs.maxSampleGapMs),
    );
    if (written.problem) notes.push(`History: ${written.problem}.`);
    if (written.conflicts) core.info(`history: ${written.conflicts} concurrent update(s) merged`);
    const streak = computeStreak(written.record, inputs.maxSampleGapMs);
    gates.push(windowGate(streak, inputs.soakMs, inputs.maxSampleGapMs));
    return { streak, history: written.record, notes };
  } catch (err) {
    gates.push(
      unmeasuredGate('soak-window', 'clean streak >= soak-hours', `could not record the sample: ${describeError(err)}`),
    );
    return { notes };
  }
}

/**
 * Gate 1 from the API: the instance pods are those CNPG labels cnpg.io/podRole=instance at
 * creation (pkg/specs/pods.go, every supported version); Pooler pods share cnpg.io/cluster but
 * carry podRole=pooler, and Job pods carry jobRole instead (CONFORMANCE.md section 8).
 */
export async function measureHealth(clients: KubeClients, cluster: Cluster): Promise<Gate> {
  const namespace = cluster.metadata.namespace!;
  const pods = await withRetry(`list pods of ${namespace}/${cluster.metadata.name}`, () =>
    clients.core.listNamespacedPod({ namespace, labelSelector: `${Label.cluster}=${cluster.metadata.name}` }),
  );
  const instances = pods.items.filter((p) => p.metadata?.labels?.[Label.podRole] === 'instance');
  const ready = (p: (typeof instances)[number]) =>
    p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  // A failing bootstrap shows on a Job pod (up to 1.30) or an instance pod's init container (in-pod).
  const failures = pods.items
    .map((p) => bootstrapSource(p, cluster.metadata.name)?.failure)
    .filter((f): f is string => !!f);
  return healthGate(
    cluster,
    instances.filter(ready).map((p) => p.metadata!.name!),
    instances.filter((p) => !ready(p)).map((p) => p.metadata!.name!),
    failures,
  );
}

async function rowCounts(
  inputs: SoakInputs,
  pub: PublisherState,
  sub: SubscriberState,
  pubDb: ReadOnlyDb,
  subDb: ReadOnlyDb,
): Promise<Gate> {
  const onSubscriber = new Set(sub.userTables.map((t) => `${t.schema}\0${t.name}`));
  const tables = pub.published.filter(
    (t) => !isExcluded(t, inputs.exclude) && onSubscriber.has(`${t.schema}\0${t.name}`),
  );
  const opts = { mode: inputs.rowCountMode, concurrency: 4 };
  const [live, other] = await Promise.all([countRows(pubDb, tables, opts), countRows(subDb, tables, opts)]);
  return rowCountGate(
    compareCounts(live, other, { tolerance: inputs.rowCountTolerance, floor: inputs.rowCountFloor }),
    inputs.rowCountTolerance,
    inputs.rowCountFloor,
  );
}

async function restoreDrill(
  core: Core,
  clients: KubeClients,
  inputs: SoakInputs,
  now: Date,
  env: NodeJS.ProcessEnv,
): Promise<Gate> {
  try {
    const judgement = judgeDrill(
      await readDrillRecord(clients, inputs.namespace, inputs.cluster),
      now,
      inputs.drillMaxAgeMs,
    );
    if (!inputs.drillWorkflow) return drillGate(judgement, inputs.drillMaxAgeMs);
    let run: WorkflowRun | undefined;
    let error: string | undefined;
    try {
      const repository = env.GITHUB_REPOSITORY;
      if (!repository) throw new Error('GITHUB_REPOSITORY is not set');
      const octokit = getOctokit(inputs.githubToken!, env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {});
      run = await latestSuccessfulRun(octokit, repository, inputs.drillWorkflow);
    } catch (err) {
      error = `GitHub API: ${describeError(err)}`;
      core.warning(`restore-drill: ${error}`);
    }
    return drillGate(judgement, inputs.drillMaxAgeMs, { name: inputs.drillWorkflow, run, error, now });
  } catch (err) {
    return unmeasuredGate('restore-drill', 'a fresh passing drill', err);
  }
}

export function historyTarget(
  inputs: Pick<SoakInputs, 'namespace' | 'cluster' | 'subscription' | 'publication'>,
): HistoryTarget {
  return {
    namespace: inputs.namespace,
    name: historyName(inputs.cluster, inputs.subscription),
    labels: { ...HISTORY_LABELS, 'soak-gate.cnpg-actions/cluster': inputs.cluster },
    annotations: {
      'soak-gate.cnpg-actions/subscription': inputs.subscription,
      'soak-gate.cnpg-actions/publication': inputs.publication,
    },
  };
}

async function report(
  core: Core,
  inputs: SoakInputs,
  gates: Gate[],
  streak: Streak | undefined,
  history: HistoryRecord | undefined,
  notes: string[],
): Promise<SoakResult> {
  const passed = gates.every((g) => g.passed);
  const failing: GateName[] = gates.filter((g) => !g.passed).map((g) => g.name);
  for (const g of gates)
    core.info(`${g.passed ? 'pass' : 'FAIL'} ${g.name}: ${g.value} (threshold: ${g.threshold}) ${g.detail}`);
  const cleanHours = streak ? Math.floor((streak.cleanMs / 3_600_000) * 100) / 100 : 0;
  core.setOutput('passed', String(passed));
  core.setOutput('clean-hours', String(cleanHours));
  core.setOutput('failing-gates', failing.join(','));
  const title = `${inputs.namespace}/${inputs.cluster} subscription ${inputs.subscription}`;
  await writeSummary(
    core,
    renderReport({
      title,
      passed,
      gates,
      streak,
      soakMs: inputs.soakMs,
      maxGapMs: inputs.maxSampleGapMs,
      history,
      notes,
    }),
  );
  if (!passed) {
    const message = `Soak gate blocked by ${failing.join(', ')}: ${gates
      .filter((g) => !g.passed)
      .map((g) => `${g.name}: ${g.detail}`)
      .join(' | ')}`;
    if (inputs.failOnBlock) failWithReasons(core, [message]);
    else core.warning(`${message} (fail-on-block is false: recorded only)`);
  }
  return { passed, gates, streak };
}
