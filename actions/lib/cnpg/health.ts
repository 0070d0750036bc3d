// The health predicate (test/playground/CONFORMANCE.md, section 6): phase healthy AND Ready=True AND all
// instances ready AND no switchover pending. Anything less is reported with what is missing.
// Error phases come in two kinds (CONFORMANCE.md section 8): the operator never leaves
// 'unrecoverable' / 'invalid definition' on its own, but it requeues the others (objects it
// cannot create, an unknown or failing plugin, an image catalog error) and they flip back once
// the cause goes away, so a waiter fails on those only when they persist (PhaseFailureClock).
import { Phase, PERMANENT_FAILURE_PHASES, RETRIED_FAILURE_PHASES, type Cluster, type Condition } from './types.js';

export interface ClusterHealth {
  healthy: boolean;
  /** Why not healthy (empty when healthy). */
  problems: string[];
  /** The phase cannot progress without intervention. */
  terminal: boolean;
  /** An error phase the operator retries: failing only if it persists. */
  retrying: boolean;
}

export function condition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function clusterHealth(cluster: Cluster): ClusterHealth {
  const s = cluster.status ?? {};
  const want = cluster.spec.instances ?? 1;
  const problems: string[] = [];
  if (s.phase !== Phase.healthy)
    problems.push(`phase is '${s.phase ?? '(none)'}'${s.phaseReason ? ` (${s.phaseReason})` : ''}`);
  const ready = condition(s.conditions, 'Ready');
  if (ready?.status !== 'True')
    problems.push(`condition Ready is ${ready?.status ?? 'absent'}${ready?.message ? `: ${ready.message}` : ''}`);
  if ((s.readyInstances ?? 0) !== want) problems.push(`${s.readyInstances ?? 0}/${want} instances ready`);
  if (!s.currentPrimary || s.currentPrimary !== s.targetPrimary) {
    problems.push(`currentPrimary '${s.currentPrimary ?? ''}' differs from targetPrimary '${s.targetPrimary ?? ''}'`);
  }
  const phase = s.phase ?? '';
  return {
    healthy: problems.length === 0,
    problems,
    terminal: PERMANENT_FAILURE_PHASES.includes(phase),
    retrying: RETRIED_FAILURE_PHASES.includes(phase),
  };
}

/** How long a retried error phase may last before a waiter gives up on it. */
export const RETRIED_PHASE_GRACE_MS = 3 * 60_000;

/**
 * Remembers since when a cluster has been in a retried error phase. `failure` returns why to
 * give up (a permanent phase at once, a retried one once it lasted `graceMs`), else undefined.
 * Call it on every observation, and periodically (a phase that persists emits no event).
 */
export class PhaseFailureClock {
  private since?: number;

  constructor(
    private readonly graceMs = RETRIED_PHASE_GRACE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  failure(cluster: Cluster): string | undefined {
    const h = clusterHealth(cluster);
    const s = cluster.status ?? {};
    const what = `phase '${s.phase}'${s.phaseReason ? `: ${s.phaseReason}` : ''}`;
    if (h.terminal) return what;
    if (!h.retrying) {
      this.since = undefined;
      return undefined;
    }
    this.since ??= this.now();
    const lasted = this.now() - this.since;
    return lasted >= this.graceMs
      ? `${what} (retried by the operator, still failing after ${Math.round(lasted / 1000)} s)`
      : undefined;
  }
}
