// Deployment controller: one ReplicaSet per pod template (`<name>-<pod-template-hash>`),
// the new one scaled up and older ones scaled down once it is available, with the status
// fields and Available/Progressing conditions kstatus and `kubectl rollout status` read
// (including ProgressDeadlineExceeded).
import type { KubeObject } from '../../types.js';
import type { MemStore } from '../store.js';
import { controlledBy, controllerOf, controllerRef, templateHash } from './owners.js';
import type { Timing } from '../../timing.js';
import { nowIso, nsName, ReconcileQueue, splitKey } from './queue.js';

const DEPLOY = 'apps/v1/deployments';
const RS = 'apps/v1/replicasets';
const REVISION = 'deployment.kubernetes.io/revision';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

function maxUnavailable(d: KubeObject, replicas: number): number {
  const v = d.spec.strategy?.type === 'Recreate' ? replicas : (d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%');
  return typeof v === 'string' && v.endsWith('%') ? Math.floor((replicas * Number(v.slice(0, -1))) / 100) : Number(v);
}

interface Counts {
  want: number;
  replicas: number;
  ready: number;
  available: number;
  updated: number;
  newAvailable: number;
}

export function startDeploymentController(store: MemStore, timing: Timing): { stop(): void } {
  const queue: ReconcileQueue = new ReconcileQueue('deployment', (key) => reconcile(store, queue, key));
  const off = store.onChange((c) => {
    if (c.resource === 'apps/deployments' && c.type !== 'DELETED')
      queue.add(nsName(c.obj.metadata.namespace, c.obj.metadata.name), timing.delay('workload'));
    if (c.resource === 'apps/replicasets') {
      const ref = controllerOf(c.obj);
      if (ref?.kind === 'Deployment') queue.add(nsName(c.obj.metadata.namespace, ref.name), timing.delay('workload'));
    }
  });
  return {
    stop() {
      off();
      queue.stop();
    },
  };
}

function reconcile(store: MemStore, queue: ReconcileQueue, key: string): void {
  const [ns, name] = splitKey(key);
  const d = store.get(DEPLOY, ns, name);
  if (!d || d.metadata.deletionTimestamp) return;
  const want: number = d.spec.replicas ?? 1;
  const hash = templateHash(d.spec.template);
  const owned = store.list(RS, ns).items.filter((rs) => controlledBy(rs, d));
  const found = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
  const olds = owned.filter((rs) => rs !== found);
  const created = !found;
  let newRs = found ?? createReplicaSet(store, d, hash, owned);
  if (found && newRs.spec.replicas !== want && !d.spec.paused)
    newRs = store.mutate(RS, ns, newRs.metadata.name, (o) => void (o.spec.replicas = want))!;
  const newAvailable = newRs.status?.availableReplicas ?? 0;
  // Old ReplicaSets go once the new one is fully available (surge-then-drain rollout).
  if (newAvailable >= want) {
    for (const rs of olds)
      if (rs.spec.replicas !== 0) store.mutate(RS, ns, rs.metadata.name, (o) => void (o.spec.replicas = 0));
  }
  const all = store.list(RS, ns).items.filter((rs) => controlledBy(rs, d));
  const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
  const counts: Counts = {
    want,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    ready: sum((rs) => rs.status?.readyReplicas ?? 0),
    available: sum((rs) => rs.status?.availableReplicas ?? 0),
    updated: newRs.status?.replicas ?? 0,
    newAvailable,
  };
  const { available, progressing, complete, deadlineMs } = conditions(d, counts, created, newRs.metadata.name);
  if (!complete && progressing.reason !== 'ProgressDeadlineExceeded') {
    queue.add(key, Math.max(100, Date.parse(progressing.lastUpdateTime) + deadlineMs - Date.now() + 50));
  }
  writeStatus(store, d, counts, [available, progressing], newRs);
}

function createReplicaSet(store: MemStore, d: KubeObject, hash: string, owned: KubeObject[]): KubeObject {
  const revision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)));
  const labels = { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash };
  return store.create(RS, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels,
      annotations: { [REVISION]: String(revision + 1) },
      ownerReferences: [controllerRef(d)],
    },
    spec: {
      replicas: d.spec.replicas ?? 1,
      selector: {
        matchLabels: { ...d.spec.selector.matchLabels, 'pod-template-hash': hash },
        ...(d.spec.selector.matchExpressions ? { matchExpressions: d.spec.selector.matchExpressions } : {}),
      },
      template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } },
    },
  });
}

function conditions(d: KubeObject, c: Counts, created: boolean, rsName: string) {
  const { want, replicas, ready, available, updated, newAvailable } = c;
  const complete = updated === want && available === want && replicas === want && newAvailable === want;
  const now = nowIso();
  const prev = (d.status?.conditions ?? []) as Condition[];
  const cond = (type: string, status: string, reason: string, message: string, progressed: boolean): Condition => {
    const old = prev.find((x) => x.type === type);
    const same = old && old.status === status && old.reason === reason;
    return {
      type,
      status,
      reason,
      message,
      lastUpdateTime: same && !progressed ? old.lastUpdateTime : now,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    };
  };
  const progressedNow =
    created ||
    (d.status?.updatedReplicas ?? 0) !== updated ||
    (d.status?.availableReplicas ?? 0) !== available ||
    (d.status?.readyReplicas ?? 0) !== ready ||
    d.status?.observedGeneration !== d.metadata.generation;
  const availableCond =
    available >= want - maxUnavailable(d, want)
      ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', false)
      : cond(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          false,
        );
  const prevProg = prev.find((x) => x.type === 'Progressing');
  const deadlineMs = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
  const rs = `ReplicaSet "${rsName}"`;
  let progressing: Condition;
  if (complete)
    progressing = cond('Progressing', 'True', 'NewReplicaSetAvailable', `${rs} has successfully progressed.`, false);
  else if (created)
    progressing = cond('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${rsName}"`, true);
  else if (prevProg?.reason === 'ProgressDeadlineExceeded' && !progressedNow) progressing = prevProg;
  else if (!progressedNow && prevProg && Date.now() - Date.parse(prevProg.lastUpdateTime) >= deadlineMs)
    progressing = cond('Progressing', 'False', 'ProgressDeadlineExceeded', `${rs} has timed out progressing.`, true);
  else progressing = cond('Progressing', 'True', 'ReplicaSetUpdated', `${rs} is progressing.`, progressedNow);
  return { available: availableCond, progressing, complete, deadlineMs };
}

function writeStatus(store: MemStore, d: KubeObject, c: Counts, conds: Condition[], newRs: KubeObject): void {
  const { want, replicas, ready, available, updated } = c;
  const [ns, name] = [d.metadata.namespace, d.metadata.name];
  store.mutate(
    DEPLOY,
    ns,
    name,
    (o) => {
      o.status = {
        observedGeneration: o.metadata.generation,
        replicas,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: available,
        ...(want - available > 0 ? { unavailableReplicas: want - available } : {}),
        conditions: conds,
      };
      for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'] as const)
        if (o.status[k] === 0) delete o.status[k];
    },
    { status: true },
  );
  store.mutate(DEPLOY, ns, name, (o) => {
    o.metadata.annotations = { ...o.metadata.annotations, [REVISION]: newRs.metadata.annotations?.[REVISION] ?? '1' };
  });
}
