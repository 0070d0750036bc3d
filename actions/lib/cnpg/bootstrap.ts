// Which container bootstraps an instance, read from what the operator created rather than from
// its version (test/playground/CONFORMANCE.md section 6.v): up to 1.30 a Job
// `<instance>-<role>` whose pod runs one container named after the role (restartPolicy Never: a
// failed attempt is a Failed pod); with in-pod bootstrap (cloudnative-pg PR #11319) the instance
// Pod's init container `bootstrap-instance` (restartPolicy Always: a failed attempt is a restart
// or CrashLoopBackOff, the pod stays Pending and the phase says nothing).
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { Label } from './types.js';

export const JOB_ROLES = ['initdb', 'import', 'full-recovery', 'pgbasebackup', 'join', 'snapshot-recovery'] as const;
export const INIT_BOOTSTRAP_CONTAINER = 'bootstrap-instance';

export interface BootstrapSource {
  kind: 'job' | 'init-container';
  pod: string;
  container: string;
  /** The Job that owns the pod (Job bootstrap only). */
  job?: string;
  /** Set once the container is running or has run. */
  started: boolean;
  /** Exit code 0 seen. */
  succeeded: boolean;
  /** The first failed attempt, in words; undefined while none failed. */
  failure?: string;
  /** Restarts of the init container (Job pods are never restarted: 0). */
  restarts: number;
}

const jobOf = (pod: V1Pod) =>
  pod.metadata?.labels?.['batch.kubernetes.io/job-name'] ?? pod.metadata?.labels?.['job-name'];

/** The bootstrap role of a Job pod of `cluster` (1.25 labels the role on the pod template only). */
function jobRole(pod: V1Pod, cluster: string): string | undefined {
  const role = pod.metadata?.labels?.[Label.jobRole];
  if (role && (JOB_ROLES as readonly string[]).includes(role)) return role;
  const job = jobOf(pod);
  return JOB_ROLES.find((r) => job !== undefined && new RegExp(`^${cluster}-\\d+-${r}$`).test(job));
}

/** The bootstrap container of `pod` and how it fares; undefined when the pod bootstraps nothing. */
export function bootstrapSource(
  pod: V1Pod,
  cluster: string,
  roles: readonly string[] = JOB_ROLES,
): BootstrapSource | undefined {
  const name = pod.metadata?.name ?? '';
  const role = jobRole(pod, cluster);
  if (role) {
    if (!roles.includes(role)) return undefined;
    const container =
      pod.spec?.containers?.find((c) => c.name === role)?.name ?? pod.spec?.containers?.[0]?.name ?? role;
    const st = pod.status?.containerStatuses?.find((c) => c.name === container);
    const source = { ...fromStatus('job', name, container, st), job: jobOf(pod) };
    if (!source.failure && pod.status?.phase === 'Failed')
      source.failure = `pod ${name} failed${pod.status.reason ? ` (${pod.status.reason})` : ''}`;
    if (pod.status?.phase === 'Succeeded') source.succeeded = true;
    if (source.failure) source.failure = `${role} job ${source.job ?? '?'} failed: ${source.failure}`;
    return source;
  }
  if (!pod.spec?.initContainers?.some((c) => c.name === INIT_BOOTSTRAP_CONTAINER)) return undefined;
  const st = pod.status?.initContainerStatuses?.find((c) => c.name === INIT_BOOTSTRAP_CONTAINER);
  return fromStatus('init-container', name, INIT_BOOTSTRAP_CONTAINER, st);
}

function fromStatus(
  kind: BootstrapSource['kind'],
  pod: string,
  container: string,
  st: V1ContainerStatus | undefined,
): BootstrapSource {
  const s: BootstrapSource = {
    kind,
    pod,
    container,
    started: false,
    succeeded: false,
    failure: undefined,
    restarts: st?.restartCount ?? 0,
  };
  if (!st) return s;
  const term = st.state?.terminated;
  const last = st.lastState?.terminated;
  s.started = !!(st.state?.running || term || last || s.restarts > 0);
  if (term && term.exitCode === 0) s.succeeded = true;
  const where =
    kind === 'job'
      ? `pod ${pod} (container ${container})`
      : `bootstrap init container of pod ${pod} (container ${container})`;
  if (term && term.exitCode !== 0)
    s.failure = `${where} exited with code ${term.exitCode}${term.reason ? ` (${term.reason})` : ''}`;
  else if (st.state?.waiting?.reason === 'CrashLoopBackOff')
    s.failure = `${where} is crash-looping${last ? ` (last exit code ${last.exitCode})` : ''}`;
  else if (s.restarts > 0 && last && last.exitCode !== 0)
    s.failure = `${where} restarted after exiting with code ${last.exitCode}`;
  return s;
}

/** WAL segments (and timeline history files) a recovery restored, in log order. */
export function restoredWals(log: string): string[] {
  const out: string[] = [];
  // PostgreSQL's own line, plain or inside the instance manager's JSON record (quotes escaped).
  for (const m of log.matchAll(
    /restored log file \\?"([0-9A-F]{24}(?:\.partial)?|[0-9A-F]{8}\.history)\\?" from archive/g,
  ))
    out.push(m[1]);
  return out;
}

/** The last two error-like lines of a log (the cause is often one line above the final complaint). */
export function errorSummary(tail: string): string {
  const lines = tail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /error|fatal|failed|denied|not found|invalid|could not|corrupt/i.test(l));
  const picked = [...new Set(errors)].slice(-2);
  return (picked.length ? picked.join(' | ') : (lines.at(-1) ?? '(empty log)')).slice(0, 600);
}
