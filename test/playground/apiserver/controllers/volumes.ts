// Storage: the `standard` (default, reclaim Delete) and `retain` StorageClasses, dynamic
// provisioning of hostPath PVs owned by the `postgres` OS user, PVC/PV binding, volume
// expansion, `kubernetes.io/pvc-protection` (a PVC stays until no pod uses it) and
// `kubernetes.io/pv-protection`, and reclaim (Retain leaves a Released PV and the data; Delete
// marks the PV Released and the provisioner removes PV + directory `deleteDelayMs` (else timing.ts
// `volumeDelete`) later, as a CSI external-provisioner deletes the disk before the PV object:
// CONFORMANCE.md, branch conform). A new claim is bound after timing.ts `volumeProvision`.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeObject } from '../../types.js';
import type { MemStore } from '../store.js';
import { DELAYS, type Timing } from '../../timing.js';
import { nsName, ReconcileQueue, splitKey } from './queue.js';

const PVC = 'v1/persistentvolumeclaims';
const PV = 'v1/persistentvolumes';
const SC = 'storage.k8s.io/v1/storageclasses';
const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
const PV_PROTECTION = 'kubernetes.io/pv-protection';
const PROVISIONER = 'playground.cnpg.io/hostpath';
const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';

let postgresIds: { uid: number; gid: number } | null | undefined;
/** uid/gid of the `postgres` OS user (Postgres refuses to run as root), if it exists. */
function postgresUser(): { uid: number; gid: number } | null {
  if (postgresIds !== undefined) return postgresIds;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    postgresIds = { uid, gid };
  } catch {
    postgresIds = null;
  }
  return postgresIds;
}

function makeVolumeDir(path: string): void {
  // The parent (volumes/) must be traversable by postgres; the volume itself is private to it.
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  mkdirSync(path, { mode: 0o700 });
  const ids = postgresUser();
  if (ids && process.getuid?.() === 0) chownSync(path, ids.uid, ids.gid);
}

function usesClaim(pod: KubeObject, claim: string): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  return (pod.spec?.volumes ?? []).some(
    (v: { persistentVolumeClaim?: { claimName?: string } }) => v.persistentVolumeClaim?.claimName === claim,
  );
}

/** How long the provisioner takes to delete a released volume with fixed timing (timing.ts: seconds, compressed). */
export const PV_DELETE_DELAY_MS = DELAYS.volumeDelete.fixed;

export function startVolumeController(
  store: MemStore,
  opts: { dataDir: string; deleteDelayMs?: number; timing: Timing },
): { stop(): void } {
  const volumesDir = join(opts.dataDir, 'volumes');
  const deleting = new Map<string, NodeJS.Timeout>();
  /** The external provisioner: deletes the disk, then the PV object, some time after the release. */
  function scheduleDelete(name: string): void {
    if (deleting.has(name)) return;
    const wait = opts.deleteDelayMs ?? opts.timing.delay('volumeDelete');
    const timer = setTimeout(() => {
      deleting.delete(name);
      const pv = store.get(PV, undefined, name);
      if (pv?.status?.phase === 'Released' && !pv.metadata.deletionTimestamp) store.delete(PV, undefined, name);
    }, wait);
    timer.unref?.();
    deleting.set(name, timer);
  }
  for (const [name, reclaimPolicy, isDefault] of [
    ['standard', 'Delete', true],
    ['retain', 'Retain', false],
  ] as const) {
    if (store.get(SC, undefined, name)) continue;
    store.create(SC, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name, ...(isDefault ? { annotations: { [DEFAULT_CLASS]: 'true' } } : {}) },
      provisioner: PROVISIONER,
      reclaimPolicy,
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    });
  }
  store.addAdmission(PVC, (op, obj) => {
    if (op === 'CREATE' && !obj.metadata.finalizers?.includes(PVC_PROTECTION))
      obj.metadata.finalizers = [...(obj.metadata.finalizers ?? []), PVC_PROTECTION];
    if (op === 'CREATE' && obj.spec.storageClassName === undefined) {
      const def = store.list(SC).items.find((c) => c.metadata.annotations?.[DEFAULT_CLASS] === 'true');
      if (def) obj.spec.storageClassName = def.metadata.name;
    }
  });
  store.addAdmission(PV, (op, obj) => {
    if (op === 'CREATE' && !obj.metadata.finalizers?.includes(PV_PROTECTION))
      obj.metadata.finalizers = [...(obj.metadata.finalizers ?? []), PV_PROTECTION];
  });

  function provision(pvc: KubeObject): void {
    const className = pvc.spec.storageClassName;
    if (!className) return; // "" asks for static binding only: stays Pending
    const sc = store.get(SC, undefined, className);
    if (!sc) {
      store.recordEvent(pvc, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const pvName = `pvc-${pvc.metadata.uid}`;
    const path = join(volumesDir, pvName);
    if (!store.get(PV, undefined, pvName)) {
      makeVolumeDir(path);
      store.create(PV, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
        spec: {
          capacity: { storage: pvc.spec.resources.requests.storage },
          accessModes: pvc.spec.accessModes,
          persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
          storageClassName: className,
          volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
          hostPath: { path, type: 'DirectoryOrCreate' },
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: pvc.metadata.namespace,
            name: pvc.metadata.name,
            uid: pvc.metadata.uid,
            resourceVersion: pvc.metadata.resourceVersion,
          },
        },
      });
      store.recordEvent(pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
    }
    store.mutate(PV, undefined, pvName, (pv) => void (pv.status = { phase: 'Bound' }), { status: true });
    const bound = store.mutate(PVC, pvc.metadata.namespace, pvc.metadata.name, (o) => {
      o.spec.volumeName = pvName;
      o.metadata.annotations = {
        ...o.metadata.annotations,
        'pv.kubernetes.io/bind-completed': 'yes',
        'pv.kubernetes.io/bound-by-controller': 'yes',
        'volume.kubernetes.io/storage-provisioner': PROVISIONER,
      };
    });
    if (bound) {
      store.mutate(
        PVC,
        pvc.metadata.namespace,
        pvc.metadata.name,
        (o) => {
          o.status = {
            phase: 'Bound',
            accessModes: o.spec.accessModes,
            capacity: { storage: o.spec.resources.requests.storage },
          };
        },
        { status: true },
      );
    }
  }

  function expand(pvc: KubeObject): void {
    const want = pvc.spec.resources.requests.storage;
    if (pvc.status?.capacity?.storage === want) return;
    store.mutate(PV, undefined, pvc.spec.volumeName, (pv) => void (pv.spec.capacity = { storage: want }));
    store.mutate(
      PVC,
      pvc.metadata.namespace,
      pvc.metadata.name,
      (o) => void (o.status = { ...o.status, capacity: { storage: want } }),
      { status: true },
    );
  }

  const claims = new ReconcileQueue('persistentvolumeclaim', (key) => {
    const [ns, name] = splitKey(key);
    const pvc = store.get(PVC, ns, name);
    if (!pvc) return;
    if (pvc.metadata.deletionTimestamp) {
      const inUse = store.list('v1/pods', ns).items.some((p) => usesClaim(p, name));
      if (!inUse && pvc.metadata.finalizers?.includes(PVC_PROTECTION)) {
        store.mutate(
          PVC,
          ns,
          name,
          (o) => void (o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== PVC_PROTECTION)),
        );
      }
      return;
    }
    if (!pvc.spec.volumeName) provision(pvc);
    else if (pvc.status?.phase === 'Bound') expand(pvc);
  });

  const volumes = new ReconcileQueue('persistentvolume', (name) => {
    const pv = store.get(PV, undefined, name);
    if (!pv) return;
    const ref = pv.spec.claimRef;
    const claim = ref && store.get(PVC, ref.namespace, ref.name);
    const claimGone = !claim || claim.metadata.uid !== ref.uid;
    if (pv.metadata.deletionTimestamp) {
      if (claimGone || pv.status?.phase !== 'Bound') {
        store.mutate(
          PV,
          undefined,
          name,
          (o) => void (o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== PV_PROTECTION)),
        );
      }
      return;
    }
    if (ref && claimGone && pv.status?.phase === 'Bound')
      store.mutate(PV, undefined, name, (o) => void (o.status = { phase: 'Released' }), { status: true });
    else if (
      pv.status?.phase === 'Released' &&
      pv.spec.persistentVolumeReclaimPolicy === 'Delete' &&
      pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER
    )
      scheduleDelete(name);
  });

  const off = store.onChange((c) => {
    const o = c.obj;
    if (c.resource === '/persistentvolumeclaims') {
      // A new claim is provisioned and bound some time later (an external provisioner's round trip).
      const wait = c.type === 'ADDED' && !o.spec?.volumeName ? opts.timing.delay('volumeProvision') : 0;
      if (c.type !== 'DELETED') claims.add(nsName(o.metadata.namespace, o.metadata.name), wait);
      else if (o.spec?.volumeName) volumes.add(o.spec.volumeName);
    } else if (c.resource === '/persistentvolumes') {
      if (c.type !== 'DELETED') volumes.add(o.metadata.name);
      else if (
        o.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
        o.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER &&
        o.spec?.hostPath?.path
      ) {
        rmSync(o.spec.hostPath.path, { recursive: true, force: true });
      }
    } else if (
      c.resource === '/pods' &&
      (c.type === 'DELETED' || c.obj.status?.phase === 'Succeeded' || c.obj.status?.phase === 'Failed')
    ) {
      // A pod going away may release claims waiting on pvc-protection.
      for (const v of o.spec?.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim) claims.add(nsName(o.metadata.namespace, claim));
      }
    }
  });
  for (const pvc of store.list(PVC).items) claims.add(nsName(pvc.metadata.namespace, pvc.metadata.name));
  return {
    stop() {
      off();
      for (const t of deleting.values()) clearTimeout(t);
      claims.stop();
      volumes.stop();
    },
  };
}
