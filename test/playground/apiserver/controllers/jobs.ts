// Job controller for generic batch/v1 Jobs (Jobs labelled `cnpg.io/jobRole` belong to the
// CNPG emulator): one pod at a time, Complete after a Succeeded pod, Failed with
// BackoffLimitExceeded after more than backoffLimit failed pods.
import type { KubeObject } from '../../types.js';
import { randomSuffix, type MemStore } from '../store.js';
import { controlledBy, controllerOf, controllerRef } from './owners.js';
import { nowIso, nsName, ReconcileQueue, splitKey } from './queue.js';

const JOB = 'batch/v1/jobs';
const managedElsewhere = (j: KubeObject) => j.metadata.labels?.['cnpg.io/jobRole'] !== undefined;

function cond(type: string, reason: string, message: string) {
  const at = nowIso();
  return { type, status: 'True', reason, message, lastProbeTime: at, lastTransitionTime: at };
}

export function startJobController(store: MemStore): { stop(): void } {
  const queue = new ReconcileQueue('job', (key) => {
    const [ns, name] = splitKey(key);
    const job = store.get(JOB, ns, name);
    if (!job || job.metadata.deletionTimestamp || managedElsewhere(job)) return;
    if (job.status?.conditions?.some((c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return;
    const pods = store.list('v1/pods', ns).items.filter((p) => controlledBy(p, job));
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length;
    const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase) && !p.metadata.deletionTimestamp);
    const done = succeeded >= (job.spec.completions ?? 1);
    const exhausted = failed > (job.spec.backoffLimit ?? 6);
    if (!done && !exhausted && active.length === 0 && !job.spec.suspend) {
      const t = job.spec.template;
      const labels = { ...t.metadata?.labels, 'batch.kubernetes.io/job-name': name, 'job-name': name, 'batch.kubernetes.io/controller-uid': job.metadata.uid!, 'controller-uid': job.metadata.uid! };
      store.create('v1/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-${randomSuffix()}`, namespace: ns, labels, ownerReferences: [controllerRef(job)] },
        spec: structuredClone(t.spec),
      } as KubeObject);
    }
    store.mutate(JOB, ns, name, (o) => {
      const at = nowIso();
      const s = { ...o.status, startTime: o.status?.startTime ?? at, active: done || exhausted ? 0 : Math.max(1, active.length), succeeded, failed, ready: 0 };
      if (done) {
        s.completionTime = at;
        s.conditions = [cond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'), cond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')];
      } else if (exhausted) {
        s.conditions = [cond('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), cond('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')];
      }
      for (const k of ['active', 'succeeded', 'failed', 'ready'] as const) if (s[k] === 0) delete s[k];
      o.status = s;
    }, { status: true });
  });
  const off = store.onChange((c) => {
    if (c.resource === 'batch/jobs' && c.type !== 'DELETED') queue.add(nsName(c.obj.metadata.namespace, c.obj.metadata.name));
    if (c.resource === '/pods') {
      const ref = controllerOf(c.obj);
      if (ref?.kind === 'Job') queue.add(nsName(c.obj.metadata.namespace, ref.name));
    }
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}
