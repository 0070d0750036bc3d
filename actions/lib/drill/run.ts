// cnpg-restore-drill: restore the live cluster's backups into an isolated cluster, compare it
// with live, measure RTO and RPO, record and report, and always tear down. A SIGTERM/SIGINT
// (job cancelled) aborts whatever runs and goes straight to teardown, within the grace window.
import type { Core } from '../core.js';
import { messageOf, VerdictError } from '../errors.js';
import { InputError } from '../inputs.js';
import { checkReachable, makeClients, type KubeClients } from '../kube/client.js';
import { loadKubeConfig, type LoadedKubeConfig } from '../kube/config.js';
import { describeApiError, statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
import { getCluster, getObjectStore } from '../cnpg/api.js';
import { BARMAN_CLOUD_PLUGIN, CNPG_GROUP, CNPG_VERSION, Plural, type Cluster, type ObjectStore } from '../cnpg/types.js';
import { connectToPrimary, type ClusterConnection } from '../postgres/cluster-connection.js';
import { ReadOnlyDb } from '../postgres/readonly.js';
import { runUrl } from '../notify/slack.js';
import { comparisonReasons, compareWithRestore, takeBaseline, type Baseline, type CountSettings } from './compare.js';
import { readDrillInputs, type DrillInputs } from './inputs.js';
import { assessInventory, listBackupRows, readArchiver } from './inventory.js';
import { detectBackupMode, LiveSpecError, readLiveSpec } from './live-spec.js';
import { recordDrill } from './record.js';
import { CREATED_AT_ANNOTATION, DrillLabel, recoveryClusterManifest, recoveryClusterName } from './recovery-manifest.js';
import { renderReport } from './report.js';
import { createRestorePoint, waitArchived, type RestorePoint } from './restore-point.js';
import type { DrillResult } from './result.js';
import { computeRpo, markLive, readReplayPoint, replayFromRecoveryLog, type LiveMark } from './rpo.js';
import { notifyDrill } from './slack.js';
import { sweepExpired } from './sweep.js';
import { teardownCluster } from './teardown.js';
import { copyLabels, makeCopies, planCopies, removeCopies, retargetManifest } from './recovery-copies.js';
import { checkRecoverySite, openRecoverySite, type RecoverySite } from './recovery-site.js';
import { jobLogTail, RecoveryFailed, recoveryJobName, waitForRecovery, type RecoveryTimings } from './wait.js';

/** State shared with the post step. */
export const State = {
  recoveryCluster: 'recovery-cluster',
  namespace: 'namespace',
  keep: 'keep-recovery-cluster',
  tornDown: 'torn-down',
  /** 'true' when Secrets (and an ObjectStore) were copied to the recovery site. */
  copies: 'copies',
  objectStoreCopy: 'object-store-copy',
} as const;

/** Teardown budget after a cancellation, from the signal: the runner kills ~7.5 s after SIGTERM (post re-checks). */
const CANCEL_TEARDOWN_MS = 6_500;
const TEARDOWN_MS = 5 * 60_000;

export class Cancelled extends Error {
  constructor(signal: string) {
    super(`cancelled (${signal}): the drill stopped and tore down what it created`);
    this.name = 'Cancelled';
  }
}

export interface RunDeps {
  env?: NodeJS.ProcessEnv;
  /** Where SIGTERM/SIGINT come from (tests pass an EventEmitter). */
  signals?: Pick<NodeJS.Process, 'once' | 'removeListener'>;
  clients?: (kc: LoadedKubeConfig) => KubeClients;
  /** Ends the process once the step is done (tests pass a no-op). */
  exit?: () => void;
}

export async function run(core: Core, deps: RunDeps = {}): Promise<DrillResult | undefined> {
  const env = deps.env ?? process.env;
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
    return await drill(core, env, controller.signal, deps);
  } finally {
    signals.removeListener('SIGTERM', onTerm);
    signals.removeListener('SIGINT', onInt);
    // Sockets of aborted port-forwards/queries must not keep a finished step alive.
    setTimeout(() => (deps.exit ?? process.exit)(), 250).unref();
  }
}

async function drill(core: Core, env: NodeJS.ProcessEnv, signal: AbortSignal, deps: RunDeps): Promise<DrillResult | undefined> {
  let inputs: DrillInputs;
  let kube: LoadedKubeConfig;
  try {
    inputs = readDrillInputs(core);
    kube = loadKubeConfig(core, inputs.kubeconfig);
  } catch (err) {
    core.setFailed(messageOf(err));
    return undefined;
  }
  const clients = deps.clients?.(kube) ?? makeClients(kube.kc, 10_000);
  let site: RecoverySite;
  try {
    site = openRecoverySite(core, inputs, { kc: kube.kc, clients }, deps.clients ? (kc) => deps.clients!({ kc, path: '', dispose: () => {} }) : undefined);
  } catch (err) {
    core.setFailed(messageOf(err));
    kube.dispose();
    return undefined;
  }
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
  const s = new DrillSession(core, inputs, clients, site, retry, signal, result, env);
  // Everything that does not need the cluster to exist is checked; now check it does. Until
  // here a failure is a usage error: one message, no report, no record, nothing written.
  let live: Cluster;
  try {
    live = await s.phase('check access and the live cluster', () => s.findLiveCluster());
    if (!site.sameNamespace) {
      const plugin = (live.spec.plugins ?? []).some((p) => p.name === BARMAN_CLOUD_PLUGIN);
      await s.phase('check the recovery site', () => checkRecoverySite(site, { plugin, portForward: inputs.connectionMode === 'port-forward', recordHistory: inputs.recordHistory }, retry));
    }
  } catch (err) {
    core.setFailed(messageOf(err));
    site.dispose();
    kube.dispose();
    return undefined;
  }
  try {
    await s.raceAbort(s.execute(live));
  } catch (err) {
    if (err instanceof VerdictError) result.reasons.push(...err.reasons);
    else if (err instanceof LiveSpecError) result.reasons.push(...err.problems.map((p) => `live cluster spec: ${p}`));
    else if (err instanceof Cancelled || signal.aborted) result.reasons.push(messageOf(signal.reason ?? err));
    else result.reasons.push(messageOf(err));
  } finally {
    await s.finish();
    site.dispose();
    kube.dispose();
  }
  return result;
}

class DrillSession {
  private liveCluster?: Cluster;
  private recoveryName?: string;
  private creating?: Promise<unknown>;
  private connections: { close(): Promise<void> }[] = [];
  private abortedAt = 0;
  private objectStore?: ObjectStore;

  constructor(
    private readonly core: Core,
    private readonly inputs: DrillInputs,
    private readonly clients: KubeClients,
    private readonly site: RecoverySite,
    private readonly retry: RetryOptions,
    private readonly signal: AbortSignal,
    private readonly result: DrillResult,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    signal.addEventListener('abort', () => (this.abortedAt = Date.now()), { once: true });
  }

  log = (line: string) => this.core.info(line);

  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.throwIfCancelled();
    const started = Date.now();
    this.log(`▶ ${name}`);
    try {
      return await fn();
    } finally {
      this.result.phases.push({ phase: name, ms: Date.now() - started });
    }
  }

  throwIfCancelled(): void {
    if (this.signal.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Cancelled('abort');
  }

  /** Stops waiting for `work` the moment the job is cancelled (a query may not notice the abort). */
  raceAbort<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.signal.reason);
      this.signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }

  async findLiveCluster(): Promise<Cluster> {
    const { namespace, cluster } = this.inputs;
    await checkReachable(this.clients);
    const live = await getCluster(this.clients, namespace, cluster, this.retry).catch((err) => {
      throw new Error(`Cannot read Cluster ${namespace}/${cluster}: ${describeApiError(err)}`);
    });
    if (live) return live;
    const ns = await withRetry(`read namespace ${namespace}`, () => this.clients.core.readNamespace({ name: namespace }), this.retry).catch((err) => (statusOf(err) === 404 ? null : undefined));
    if (ns === null) throw new InputError('namespace', `namespace '${namespace}' does not exist; set the namespace of the live Cluster.`);
    throw new InputError('cluster', `no CNPG Cluster '${cluster}' in namespace '${namespace}'; check the cluster and namespace inputs.`);
  }

  async execute(live: Cluster): Promise<void> {
    const { inputs, result } = this;
    this.liveCluster = live;
    const spec = await this.phase('read the live spec', async () => {
      const mode = detectBackupMode(live);
      const store = mode.mode === 'plugin' ? await getObjectStore(this.clients, inputs.namespace, mode.objectStoreName!, this.retry) : undefined;
      this.objectStore = store;
      result.mode = mode.mode;
      const spec = readLiveSpec(live, mode, store);
      result.recoverySite = { where: this.site.where, remote: this.site.remote, objectStore: `${spec.store.destinationPath}${spec.store.endpointURL ? ` at ${spec.store.endpointURL}` : ''}${spec.plugin ? ` (ObjectStore ${inputs.namespace}/${spec.plugin.barmanObjectName})` : ''}` };
      this.log(`backup mode ${spec.mode}, server name '${spec.serverName}', archive ${spec.store.destinationPath}, image ${spec.imageName ?? 'from catalog'}, storage ${spec.storage.size}`);
      return spec;
    });
    const databases = inputs.databases.length ? inputs.databases : [spec.database];

    // One read-only session per database to check; the first also reads archiving and the RPO mark.
    const liveDbs = await this.phase('connect to the live primary', async () => {
      const out: { database: string; db: ReadOnlyDb; conn: ClusterConnection }[] = [];
      for (const database of databases) {
        const conn = await connectToPrimary(this.core, this.clients, live, { mode: inputs.connectionMode, secretName: inputs.credentialsSecret, database });
        this.connections.push(conn);
        const db = new ReadOnlyDb(conn.conn, { statementTimeoutMs: inputs.statementTimeoutMs, poolSize: inputs.countConcurrency, applicationName: 'cnpg-restore-drill' });
        this.connections.push({ close: () => db.close() });
        out.push({ database, db, conn });
      }
      this.log(`connected to primary ${out[0].conn.pod} as ${out[0].conn.conn.user} (secret ${out[0].conn.secretName})`);
      return out;
    });
    const primary = liveDbs[0];
    const mark: LiveMark = await markLive(primary.db);
    this.log(`live at drill start: WAL ${mark.lsn} at ${mark.at}`);

    const inventory = await this.phase('backup inventory', async () => {
      const rows = await listBackupRows(this.clients, inputs.namespace, inputs.cluster, this.retry);
      const archiver = await readArchiver(primary.db).catch((err) => {
        result.notes.push(`could not read pg_stat_archiver: ${messageOf(err)}`);
        return undefined;
      });
      return assessInventory(rows, live, archiver, { now: new Date(), maxBackupAgeMs: inputs.maxBackupAgeMs });
    });
    result.inventory = inventory;
    result.backupId = inventory.newest?.backupId;
    if (inventory.problems.length) throw new VerdictError(inventory.problems);

    await this.phase('sweep expired drill clusters', async () => {
      const swept = await sweepExpired(this.site.clients, this.site.namespace, {
        ttlMs: inputs.sweepTtlMs,
        deadline: Date.now() + 60_000,
        signal: this.signal,
        retry: this.retry,
        log: this.log,
      });
      for (const t of swept) {
        if (!this.site.sameNamespace) t.leftovers.push(...(await removeCopies(this.site.clients, this.site.namespace, t.cluster, { objectStores: result.mode === 'plugin', retry: this.retry })));
        result.notes.push(`swept expired drill cluster ${t.cluster}${t.leftovers.length ? `, leftovers: ${t.leftovers.join('; ')}` : ''}`);
      }
    });

    const name = recoveryClusterName(inputs.cluster, this.env.GITHUB_RUN_ID || Date.now().toString(36), this.env.GITHUB_RUN_ATTEMPT || '1');
    let restorePoint: RestorePoint | undefined;
    if (inputs.restorePoint) {
      restorePoint = await this.phase('restore point on live', async () => {
        const rp = await createRestorePoint(primary.conn.conn, name, inputs.statementTimeoutMs);
        this.log(`restore point '${rp.name}' created at ${rp.lsn} (segment ${rp.segment}); waiting for it to be archived`);
        await waitArchived(primary.db, rp, { deadline: Date.now() + Math.min(inputs.timeoutMs, 10 * 60_000), signal: this.signal });
        return rp;
      });
      result.restorePoint = restorePoint;
    }

    const settings: CountSettings = { mode: inputs.countMode, concurrency: inputs.countConcurrency, tolerance: inputs.tolerance, floor: inputs.floor, signal: this.signal };
    const baselines: Baseline[] = await this.phase('baseline from live (schema + row counts)', async () => {
      const out: Baseline[] = [];
      for (const l of liveDbs) {
        const b = await takeBaseline(l.db, l.database, settings);
        this.log(`live ${l.database}: ${b.schema.tables.length} tables, ${b.schema.indexes.length} indexes, ${b.counts.reduce((n, c) => n + (c.rows || 0), 0)} rows`);
        out.push(b);
      }
      return out;
    });
    // Live sessions are not needed any more: do not hold connections to production while waiting.
    await Promise.all(liveDbs.map(async (l) => (await l.db.close(), await l.conn.close())));

    const createdAt = new Date();
    const manifest = recoveryClusterManifest(spec, {
      name,
      runId: this.env.GITHUB_RUN_ID || 'local',
      createdAt,
      runUrl: result.runUrl,
      storageClass: inputs.storageClass,
      resources: inputs.recoveryResources,
      recoveryTarget: restorePoint && inventory.newest?.backupId ? { targetName: restorePoint.name, backupID: inventory.newest.backupId } : undefined,
    });
    const timings: RecoveryTimings = { created: 0 };
    await this.phase('create the recovery cluster', async () => {
      // Saved BEFORE creating: a cancellation between here and the end is cleaned up by post.
      this.core.saveState(State.recoveryCluster, name);
      this.core.saveState(State.namespace, this.site.namespace);
      this.recoveryName = name;
      result.recoveryCluster = name;
      if (!this.site.sameNamespace) await this.copyToSite(manifest, spec.store, name);
      this.creating = this.createRecoveryCluster(manifest, createdAt);
      await this.creating;
      timings.created = Date.now();
      this.log(`created recovery cluster ${name} in ${this.site.where}`);
    });

    await this.phase('wait for the recovery (RTO)', async () => {
      await waitForRecovery(this.site.clients, this.site.namespace, name, timings, {
        deadline: timings.created + inputs.timeoutMs,
        signal: this.signal,
        retry: this.retry,
        log: this.log,
      }).catch((err) => {
        if (err instanceof RecoveryFailed) result.recoveryLog = err.logTail;
        throw err instanceof RecoveryFailed ? new VerdictError([err.message]) : err;
      });
      const since = (t?: number) => (t ? Math.round((t - timings.created) / 100) / 10 : undefined);
      result.rtoSeconds = since(timings.healthy);
      result.recoveryPhases = { jobRunningS: since(timings.jobRunning), jobDoneS: since(timings.jobDone), readyS: since(timings.healthy) };
      this.log(`recovery cluster healthy after ${result.rtoSeconds} s`);
    });

    await this.phase('compare the restore with live', async () => {
      const restored = (await getCluster(this.site.clients, this.site.namespace, name, this.retry))!;
      for (const [i, base] of baselines.entries()) {
        const conn = await connectToPrimary(this.core, this.site.clients, restored, { mode: inputs.connectionMode, secretName: `${name}-superuser`, database: base.database });
        this.connections.push(conn);
        const db = new ReadOnlyDb(conn.conn, { statementTimeoutMs: inputs.statementTimeoutMs, poolSize: inputs.countConcurrency, applicationName: 'cnpg-restore-drill' });
        this.connections.push({ close: () => db.close() });
        result.databases.push(await compareWithRestore(db, base, settings));
        if (i === 0) {
          const replay = await readReplayPoint(db);
          if (!replay.lastCommitAt) {
            // The instance restarted after the recovery Job promoted: the Job's log says where replay ended.
            const log = await jobLogTail(this.site.clients, this.site.namespace, recoveryJobName(name), 400, this.retry).catch(() => '');
            const fromLog = replayFromRecoveryLog(log);
            if (fromLog.lastCommitAt) {
              replay.lastCommitAt = fromLog.lastCommitAt;
              replay.source += ' + recovery job log';
            }
            if (!replay.lsn && fromLog.lsn) replay.lsn = fromLog.lsn;
          }
          const fallback = restorePoint
            ? { at: restorePoint.createdAt, what: `the restore point '${restorePoint.name}'` }
            : inventory.archiving.archiver?.lastArchivedTime
              ? { at: inventory.archiving.archiver.lastArchivedTime, what: 'the last WAL segment archived before the drill' }
              : undefined;
          result.rpo = computeRpo(mark, replay, fallback);
        }
      }
    });
    result.reasons.push(...result.databases.flatMap(comparisonReasons));
    if (!result.reasons.length) result.verdict = 'passed';
  }

  /** Sandbox / recovery site: copies the object-store Secrets (and ObjectStore) and points the manifest at them. */
  private async copyToSite(manifest: Cluster, storeConfig: unknown, name: string): Promise<void> {
    const plan = planCopies(storeConfig, this.objectStore);
    retargetManifest(manifest, this.site.namespace, plan);
    const ctx = {
      core: this.core,
      live: this.clients,
      liveNamespace: this.inputs.namespace,
      site: this.site.clients,
      namespace: this.site.namespace,
      recovery: name,
      labels: copyLabels(this.inputs.cluster, name, manifest.metadata.labels?.[DrillLabel.run] ?? 'local'),
      retry: this.retry,
    };
    // Dry runs first: a refusal (permissions, webhook) fails here with nothing created.
    await makeCopies(ctx, plan, true);
    await this.site.clients.custom.createNamespacedCustomObject({ group: CNPG_GROUP, version: CNPG_VERSION, namespace: this.site.namespace, plural: Plural.clusters, body: manifest, dryRun: 'All' }).catch((err) => {
      throw new Error(`the recovery site refuses the recovery cluster (dry run): ${describeApiError(err)}`);
    });
    this.core.saveState(State.copies, 'true');
    if (plan.objectStore) this.core.saveState(State.objectStoreCopy, 'true');
    const made = await makeCopies(ctx, plan);
    this.log(`copied to ${this.site.where}: ${made.join(', ') || 'nothing (no Secret referenced)'}`);
  }

  private async createRecoveryCluster(manifest: Cluster, createdAt: Date): Promise<void> {
    const { namespace } = this.site;
    const name = manifest.metadata.name;
    const create = () =>
      withRetry(`create cluster ${namespace}/${name}`, () => this.site.clients.custom.createNamespacedCustomObject({ group: CNPG_GROUP, version: CNPG_VERSION, namespace, plural: Plural.clusters, body: manifest }), this.retry);
    try {
      await create();
    } catch (err) {
      if (statusOf(err) !== 409) throw new Error(`could not create the recovery cluster ${name}: ${describeApiError(err)}`);
      const existing = await getCluster(this.site.clients, namespace, name, this.retry);
      // Our own create that landed before a lost response: same creation stamp.
      if (existing?.metadata.annotations?.[CREATED_AT_ANNOTATION] === createdAt.toISOString()) return;
      this.log(`a drill cluster named ${name} is left from an earlier attempt; tearing it down first`);
      const t = await teardownCluster(this.site.clients, namespace, name, { deadline: Date.now() + TEARDOWN_MS, signal: this.signal, retry: this.retry, log: this.log });
      if (!t.clean) throw new Error(`cannot reuse the name ${name}: ${t.leftovers.join('; ')}`);
      await create();
    }
  }

  /** Teardown, record, report, notify, outputs, exit status: on every path. */
  async finish(): Promise<void> {
    const { core, inputs, result } = this;
    const cancelled = this.signal.aborted;
    // pg's pool.end() waits for running queries: never let that hold up the teardown.
    await Promise.race([Promise.allSettled(this.connections.map((c) => c.close())), new Promise((r) => setTimeout(r, cancelled ? 300 : 5_000))]);
    if (this.recoveryName) {
      if (inputs.keepOnFailure && result.reasons.length && !cancelled) {
        result.kept = true;
        core.saveState(State.keep, 'true');
        core.warning(`keep-on-failure: the recovery cluster ${this.recoveryName} in ${this.site.where} is KEPT for debugging (with its copied Secrets). Delete it when done: kubectl delete cluster -n ${this.site.namespace} ${this.recoveryName}`);
      } else {
        const deadline = cancelled ? this.abortedAt + CANCEL_TEARDOWN_MS : Date.now() + TEARDOWN_MS;
        // A create still in flight must land (or fail) before the delete, or it would outlive us.
        if (this.creating) await Promise.race([this.creating.catch(() => {}), new Promise((r) => setTimeout(r, cancelled ? 2_000 : 30_000))]);
        const started = Date.now();
        try {
          const t = await teardownCluster(this.site.clients, this.site.namespace, this.recoveryName, {
            deadline,
            retry: { attempts: cancelled ? 2 : 6, maxDelayMs: 1_000 },
            log: this.log,
          });
          if (!this.site.sameNamespace) {
            t.leftovers.push(...(await removeCopies(this.site.clients, this.site.namespace, this.recoveryName, { objectStores: !!this.objectStore, retry: { attempts: cancelled ? 2 : 6, maxDelayMs: 1_000 } })));
            t.clean = t.leftovers.length === 0;
          }
          result.teardown = t;
          if (t.clean) core.saveState(State.tornDown, 'true');
          else if (!cancelled) result.reasons.push(`teardown incomplete: ${t.leftovers.join('; ')}`);
          this.log(t.clean ? `teardown verified in ${Date.now() - started} ms` : `teardown incomplete: ${t.leftovers.join('; ')}`);
        } catch (err) {
          result.teardown = { cluster: this.recoveryName, clean: false, leftovers: [messageOf(err)], ms: Date.now() - started };
          if (!cancelled) result.reasons.push(`teardown failed: ${messageOf(err)}`);
        }
        result.phases.push({ phase: 'teardown', ms: Date.now() - started });
      }
    }
    result.verdict = result.reasons.length ? 'failed' : 'passed';

    if (inputs.recordHistory && this.liveCluster && !cancelled) {
      // Live is read-only outside the same-namespace mode: the record goes to the recovery site.
      await recordDrill(
        this.site.clients,
        this.site.namespace,
        inputs.cluster,
        {
          time: new Date().toISOString(),
          verdict: result.verdict,
          reasons: result.reasons,
          rtoSeconds: result.rtoSeconds ?? null,
          rpoSeconds: result.rpo?.seconds ?? null,
          backupId: result.backupId ?? null,
          recoveryCluster: result.recoveryCluster ?? '',
          runUrl: result.runUrl ?? null,
        },
        inputs.historySize,
        { attempts: 4 },
      ).catch((err) => {
        result.notes.push(`could not record the result in the cluster: ${describeApiError(err)}`);
        core.warning(`could not record the drill result: ${describeApiError(err)}`);
      });
    }

    if (!cancelled) await notifyDrill(core, inputs.slack, result);
    this.writeOutputs();
    const report = renderReport(result);
    core.info('\n' + report);
    try {
      await core.summary.addRaw(report, true).write();
    } catch (err) {
      core.warning(`could not write the job summary: ${messageOf(err)}`);
    }
    if (result.verdict === 'failed') core.setFailed(result.reasons.map((r) => `restore drill failed: ${r}`).join('\n'));
  }

  private writeOutputs(): void {
    const { core, result } = this;
    const sum = (f: (d: DrillResult['databases'][number]) => number) => result.databases.reduce((n, d) => n + f(d), 0);
    core.setOutput('result', result.verdict);
    core.setOutput('reasons', JSON.stringify(result.reasons));
    core.setOutput('recovery-cluster', result.recoveryCluster ?? '');
    core.setOutput('backup-id', result.backupId ?? '');
    core.setOutput('rto-seconds', result.rtoSeconds ?? '');
    core.setOutput('rpo-seconds', result.rpo?.seconds ?? '');
    core.setOutput('rpo-bytes', result.rpo?.bytes ?? '');
    core.setOutput('tables-compared', sum((d) => d.tablesCompared));
    core.setOutput('schema-differences', sum((d) => d.schemaDifferences.length));
    core.setOutput('tables-out-of-tolerance', sum((d) => d.outOfTolerance.length));
  }
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
    const kube = loadKubeConfig(core, core.getInput('kubeconfig').trim() || undefined);
    const input = (n: string) => core.getInput(n).trim() || undefined;
    const site = openRecoverySite(core, { namespace: '', kubeconfig: input('kubeconfig'), recoveryNamespace: namespace, recoveryKubeconfig: input('recovery-kubeconfig'), recoveryContext: input('recovery-context') }, { kc: kube.kc, clients: makeClients(kube.kc, 10_000) });
    try {
      const t = await teardownCluster(site.clients, namespace, name, { deadline: Date.now() + TEARDOWN_MS, log: (l) => core.info(l) });
      if (core.getState(State.copies) === 'true') {
        t.leftovers.push(...(await removeCopies(site.clients, namespace, name, { objectStores: core.getState(State.objectStoreCopy) === 'true', retry: { attempts: 6, maxDelayMs: 2_000 } })));
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
    setTimeout(() => process.exit(), 250).unref();
  }
}
