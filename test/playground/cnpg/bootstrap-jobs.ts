// Instance-creation Jobs as CNPG specifies them (pkg/specs/jobs.go): `<instance>-<role>`, owned
// by the Cluster, labelled with the cluster, instance and job role, one container named after
// the role running `/controller/manager instance <command>` on the instance's PVC. Kubernetes'
// Job controller (apiserver/controllers/jobs.ts) runs the pods; instance-commands.ts executes them.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, controllerRef } from './context.js';
import { appLabels, inherited } from './cluster-labels.js';

export type JobRole = 'initdb' | 'full-recovery' | 'join';
const COMMAND: Record<JobRole, string> = { initdb: 'init', 'full-recovery': 'restore', join: 'join' };

export type JobState = 'none' | 'running' | 'complete' | 'failed';

export const jobName = (instanceName: string, role: JobRole) => `${instanceName}-${role}`;

export function jobState(job: KubeObject | undefined): JobState {
  if (!job) return 'none';
  const c = (job.status?.conditions ?? []) as Array<{ type: string; status: string }>;
  if (c.some((x) => x.type === 'Complete' && x.status === 'True')) return 'complete';
  if (c.some((x) => x.type === 'Failed' && x.status === 'True')) return 'failed';
  return 'running';
}

/** Creates the Job once (an existing one of that name is left alone, as CNPG does). */
export function ensureJob(ctx: Ctx, cluster: KubeObject, instanceName: string, role: JobRole): KubeObject {
  const ns = cluster.metadata.namespace!;
  const name = jobName(instanceName, role);
  const existing = ctx.store.get(GVR.job, ns, name);
  if (existing) return existing;
  const labels = {
    [L.instanceName]: instanceName,
    [L.cluster]: cluster.metadata.name,
    [L.jobRole]: role,
    ...appLabels(ctx, cluster),
  };
  const meta = inherited(ctx, cluster);
  const backoffLimit = ctx.settings.jobBackoffLimit; // a playground knob; CNPG leaves the default (6)
  return ctx.store.create(GVR.job, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: ns,
      labels: { ...labels, ...meta.labels },
      annotations: meta.annotations,
      ownerReferences: [controllerRef(cluster)],
    },
    spec: {
      ...(backoffLimit === undefined ? {} : { backoffLimit }),
      template: {
        metadata: { labels },
        spec: {
          hostname: name,
          restartPolicy: 'Never',
          containers: [
            { name: role, image: cluster.status?.image ?? cluster.spec?.imageName, command: bootstrapCommand(role) },
          ],
          volumes: [{ name: 'pgdata', persistentVolumeClaim: { claimName: instanceName } }],
        },
      },
    },
  });
}

/** The manager command line that bootstraps an instance in `role` (Job container or init container). */
export const bootstrapCommand = (role: JobRole) => ['/controller/manager', 'instance', COMMAND[role]];

/** The bootstrap role a `/controller/manager instance <command>` command line runs, if it is one. */
export function roleOfCommand(cmd: string[] = []): JobRole | undefined {
  if (cmd[0] !== '/controller/manager' || cmd[1] !== 'instance') return undefined;
  return (Object.keys(COMMAND) as JobRole[]).find((r) => COMMAND[r] === cmd[2]);
}

/** The job role a pod's `/controller/manager instance <command>` runs, if it is one. */
export function commandRole(pod: KubeObject): JobRole | undefined {
  return roleOfCommand(pod.spec?.containers?.[0]?.command);
}
