// The health predicate (test/playground/CONFORMANCE.md, section 6): phase healthy AND Ready=True AND all
// instances ready AND no switchover pending. Anything less is reported with what is missing.
import { Phase, TERMINAL_FAILURE_PHASES, type Cluster, type Condition } from './types.js';

export interface ClusterHealth {
  healthy: boolean;
  /** Why not healthy (empty when healthy). */
  problems: string[];
  /** The phase cannot progress without intervention. */
  terminal: boolean;
}

export function condition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function clusterHealth(cluster: Cluster): ClusterHealth {
  const s = cluster.status ?? {};
  const want = cluster.spec.instances ?? 1;
  const problems: string[] = [];
  if (s.phase !== Phase.healthy) problems.push(`phase is '${s.phase ?? '(none)'}'${s.phaseReason ? ` (${s.phaseReason})` : ''}`);
  const ready = condition(s.conditions, 'Ready');
  if (ready?.status !== 'True') problems.push(`condition Ready is ${ready?.status ?? 'absent'}${ready?.message ? `: ${ready.message}` : ''}`);
  if ((s.readyInstances ?? 0) !== want) problems.push(`${s.readyInstances ?? 0}/${want} instances ready`);
  if (!s.currentPrimary || s.currentPrimary !== s.targetPrimary) {
    problems.push(`currentPrimary '${s.currentPrimary ?? ''}' differs from targetPrimary '${s.targetPrimary ?? ''}'`);
  }
  return { healthy: problems.length === 0, problems, terminal: TERMINAL_FAILURE_PHASES.includes(s.phase ?? '') };
}
