// Keeps what the drill needs from the restore container's log while that log still exists: CNPG
// deletes a completed bootstrap Job (and its pod, with the log) once the instance reports, and an
// init container's log goes with its pod. Captured: the tail (for a failure's cause), the WAL
// segments restored so far (progress, for stall detection) and PostgreSQL's end-of-replay line
// (the RPO fallback).
import type { KubeClients } from '../kube/client.js';
import { statusOf, withRetry, type RetryOptions } from '../kube/retry.js';
import { bootstrapSource, restoredWals, type BootstrapSource } from '../cnpg/bootstrap.js';
import { replayFromRecoveryLog, type ReplayPoint } from './rpo.js';

const TAIL_LINES = 1000;

export class RestoreLog {
  source?: BootstrapSource;
  /** The newest tail read from the restore container. */
  text = '';
  /** Every WAL seen restored, in order of first sighting. */
  readonly wals: string[] = [];
  /** Where replay ended, as PostgreSQL logged it (sticky once seen). */
  replayEnd: { lsn?: string; lastCommitAt?: string } = {};
  /** Epoch ms of the last sign of progress (container (re)start, base backup in place, a new WAL restored). */
  lastProgressAt: number;
  /** The base backup is in place and WAL replay runs: from here on no new WAL means no progress. */
  replaying = false;
  private readonly seen = new Set<string>();

  constructor(
    private readonly clients: KubeClients,
    private readonly namespace: string,
    private readonly now: () => number = Date.now,
  ) {
    this.lastProgressAt = now();
  }

  /** Records the restore container's state; a new pod, start or restart counts as progress. */
  observe(src: BootstrapSource): void {
    const prev = this.source;
    if (!prev || prev.pod !== src.pod || prev.restarts !== src.restarts || (!prev.started && src.started))
      this.lastProgressAt = this.now();
    this.source = src;
  }

  /**
   * Finds the restore container by listing the cluster's pods: the phase (or a Job's `Failed`)
   * may be seen before the pod watch saw the pod. A failed attempt is preferred.
   */
  async discover(cluster: string, retry?: RetryOptions): Promise<void> {
    const pods = await withRetry(
      `list pods of ${cluster}`,
      () =>
        this.clients.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `cnpg.io/cluster=${cluster}` }),
      retry,
    );
    const found = pods.items
      .map((p) => bootstrapSource(p, cluster, ['full-recovery']))
      .filter((x): x is BootstrapSource => !!x?.started);
    const pick = found.find((x) => x.failure) ?? found.at(-1);
    if (pick) this.observe(pick);
  }

  /** Reads the container's log again; a pod already gone keeps what was captured. */
  async refresh(retry?: RetryOptions): Promise<void> {
    const src = this.source;
    if (!src?.started) return;
    const read = (previous: boolean) =>
      withRetry(
        `read log of pod ${src.pod}`,
        () =>
          this.clients.core.readNamespacedPodLog({
            namespace: this.namespace,
            name: src.pod,
            container: src.container,
            tailLines: TAIL_LINES,
            previous,
          }),
        retry,
      ).then((t) => String(t ?? ''));
    let text: string;
    try {
      text = await read(false);
      // A crash-looping container may not have written anything yet this attempt.
      if (!text.trim() && src.restarts > 0) text = await read(true).catch(() => text);
    } catch (err) {
      if (statusOf(err) === 404 || statusOf(err) === 400) return;
      throw err;
    }
    if (!text.trim()) return;
    this.text = text.trimEnd();
    this.absorb(this.text);
  }

  private absorb(text: string): void {
    // CNPG's instance manager logs "Restore completed" once barman-cloud-restore placed the base
    // backup (pkg/management/postgres/restore.go); PostgreSQL then starts archive recovery.
    if (
      !this.replaying &&
      /Restore completed|starting archive recovery|starting point-in-time recovery|restored log file/.test(text)
    ) {
      this.replaying = true;
      this.lastProgressAt = this.now();
    }
    for (const w of restoredWals(text)) {
      if (this.seen.has(w)) continue;
      this.seen.add(w);
      this.wals.push(w);
      this.lastProgressAt = this.now();
    }
    const end = replayFromRecoveryLog(text);
    if (end.lsn) this.replayEnd.lsn = end.lsn;
    if (end.lastCommitAt) this.replayEnd.lastCommitAt = end.lastCommitAt;
  }

  /** The last `n` lines captured. */
  tail(n: number): string {
    return this.text.split('\n').slice(-n).join('\n');
  }

  /** What the drill last saw, for a stall or timeout report. */
  lastSeen(): string {
    const src = this.source;
    const where = src
      ? `${src.kind === 'job' ? 'job pod' : 'init container of pod'} ${src.pod}/${src.container}`
      : 'no restore container seen yet';
    const wal = this.wals.length
      ? `${this.wals.length} WAL file(s) restored, the last ${this.wals.at(-1)}`
      : this.replaying
        ? 'base backup restored, no WAL restored yet'
        : 'base backup not restored yet';
    const line = this.text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1);
    return `${where}; ${wal}${line ? `; last log line: ${line.slice(0, 300)}` : ''}`;
  }
}

/** Fills in what the restore's log said about where replay ended (the instance may have forgotten it). */
export function replayFromRestoreLog(restoreLog: RestoreLog, replay: ReplayPoint): void {
  const fromLog = restoreLog.replayEnd;
  if (fromLog.lastCommitAt) {
    replay.lastCommitAt = fromLog.lastCommitAt;
    replay.source += ' + restore log';
  }
  if (!replay.lsn && fromLog.lsn) replay.lsn = fromLog.lsn;
}
