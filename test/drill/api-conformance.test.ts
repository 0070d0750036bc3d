// Product behaviour against situations created through the API (CONFORMANCE.md sections 7, 8):
// - a volumeSnapshot Backup with the status CNPG's backup controller writes (backupId = its own
//   name) is newer than the barman backup; the drill must not pick it (not as the backup it
//   reports, not as the barman backupID of a restore-point recovery);
// - a retried error phase ('Unable to create required cluster objects') that flips back is
//   waited through (one that persists: test/drill/phase-clock.unit.test.ts);
// - soak-gate-check's health gate counts instance pods only, not a Pooler's pods that carry the
//   same cnpg.io/cluster label (pkg/specs/pgbouncer/deployments.go: podRole=pooler);
// - addon-sync's delete-and-wait returns only once the Cluster's pods, PVCs and Jobs are gone,
//   though CNPG sets no blockOwnerDeletion (a foreground delete returns before them).
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClients } from '../../actions/lib/kube/client.js';
import { assessInventory, listBackupRows } from '../../actions/lib/drill/inventory.js';
import { PhaseFailureClock } from '../../actions/lib/cnpg/health.js';
import { measureHealth } from '../../actions/lib/soak/run.js';
import { deleteClusterAndWait, waitHealthy } from '../../actions/lib/addons/providers/cluster-ops.js';
import type { BackendContext } from '../../actions/lib/addons/providers/backend.js';
import { CLUSTERS, createLiveCluster, waitFor } from '../helpers/live-cluster.js';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';

let pgd: PlaygroundHandle;
let kc: KubeConfig;
beforeAll(async () => {
  pgd = await startPlayground();
  kc = new KubeConfig();
  kc.loadFromFile(pgd.kubeconfigPath);
});
afterAll(async () => {
  await pgd?.stop();
});

const cluster = (plugin: boolean): Cluster => ({
  apiVersion: 'postgresql.cnpg.io/v1',
  kind: 'Cluster',
  metadata: { name: 'Orders-DB'.toLowerCase(), namespace: 'default' },
  spec: plugin
    ? {
        plugins: [
          {
            name: 'barman-cloud.cloudnative-pg.io',
            isWALArchiver: true,
            parameters: { barmanObjectName: 'orders-store' },
          },
        ],
      }
    : {
        backup: {
          barmanObjectStore: { destinationPath: 's3://b/p', s3Credentials: { inheritFromIAMRole: true } },
          volumeSnapshot: { className: 'csi-snap' },
        },
      },
});

/** Creates a Backup and writes its status through the status subresource, as the operator does. */
async function backup(name: string, spec: Record<string, unknown>, status: Record<string, unknown>): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ref = { group: 'postgresql.cnpg.io', version: 'v1', namespace: 'default', plural: 'backups' };
  await api.createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: { name },
      spec: { cluster: { name: 'orders-db' }, ...spec },
    },
  });
  await api.patchNamespacedCustomObjectStatus(
    { ...ref, name, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

describe('backup inventory from the API', () => {
  it('never picks a volumeSnapshot Backup (backupId = its name) nor a backup of another archive', async () => {
    await backup(
      'orders-db-barman-20260110',
      { method: 'barmanObjectStore' },
      {
        phase: 'completed',
        method: 'barmanObjectStore',
        backupId: '20260110T010000',
        startedAt: '2026-01-10T01:00:00Z',
        stoppedAt: '2026-01-10T01:05:00Z',
      },
    );
    await backup(
      'orders-db-snap-20260110',
      { method: 'volumeSnapshot' },
      {
        phase: 'completed',
        method: 'volumeSnapshot',
        backupId: 'orders-db-snap-20260110',
        backupName: 'orders-db-snap-20260110',
        startedAt: '2026-01-10T05:00:00Z',
        stoppedAt: '2026-01-10T05:01:00Z',
      },
    );
    await backup(
      'orders-db-plugin-20260110',
      { method: 'plugin', pluginConfiguration: { name: 'barman-cloud.cloudnative-pg.io' } },
      {
        phase: 'completed',
        method: 'plugin',
        backupId: '20260110T030000',
        startedAt: '2026-01-10T03:00:00Z',
        stoppedAt: '2026-01-10T03:05:00Z',
      },
    );
    const rows = await listBackupRows(makeClients(kc, 10_000), 'default', 'orders-db');
    expect(rows.map((r) => r.name).sort()).toEqual([
      'orders-db-barman-20260110',
      'orders-db-plugin-20260110',
      'orders-db-snap-20260110',
    ]);
    const opts = { now: new Date('2026-01-10T06:00:00Z'), maxBackupAgeMs: 86_400_000 };

    const inTree = assessInventory(rows, cluster(false), undefined, opts);
    expect(inTree.newest?.name).toBe('orders-db-barman-20260110');
    expect(inTree.newest?.backupId).toBe('20260110T010000');
    expect(inTree.skipped).toEqual(
      expect.arrayContaining([
        { name: 'orders-db-snap-20260110', why: 'a volume snapshot, not in the object store' },
        expect.objectContaining({ name: 'orders-db-plugin-20260110' }),
      ]),
    );

    const viaPlugin = assessInventory(rows, cluster(true), undefined, opts);
    expect(viaPlugin.newest?.backupId).toBe('20260110T030000');

    // Only snapshots: no restorable backup, and the reason says so.
    const onlySnap = assessInventory(
      rows.filter((r) => r.method === 'volumeSnapshot'),
      cluster(false),
      undefined,
      opts,
    );
    expect(onlySnap.newest).toBeUndefined();
    expect(onlySnap.problems[0]).toMatch(
      /^no completed backup: .*not restorable from the archive: orders-db-snap-20260110 \(a volume snapshot/,
    );
  });
});

describe('retried error phases', () => {
  const ctx = (deadline: number) =>
    ({ clients: makeClients(kc, 10_000), deadline, log: () => {} }) as unknown as BackendContext;
  const statusPatch = (name: string, status: Record<string, unknown>) =>
    kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
      {
        group: 'postgresql.cnpg.io',
        version: 'v1',
        namespace: 'default',
        plural: 'clusters',
        name,
        body: { status },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  const cannotCreate = {
    phase: 'Unable to create required cluster objects',
    phaseReason: 'secrets "orders-db-app" is forbidden: exceeded quota',
  };

  it('flips back: the waiter waits through it', async () => {
    const live = await createLiveCluster(pgd, { name: 'flip', rows: 1, backup: false });
    const healthy = structuredClone(pgd.store.get(CLUSTERS, 'default', 'flip')!.status);
    const seen: string[] = [];
    const clock = new (class extends PhaseFailureClock {
      override failure(c: Cluster) {
        seen.push(c.status?.phase ?? '');
        return super.failure(c);
      }
    })(120_000);
    // The operator hits an error it requeues, then succeeds on a later reconcile. The test writes both
    // phases; the emulator, held, would otherwise write healthy back before the waiter's first read.
    pgd.operator.settings.holdStatus = /^flip$/;
    await statusPatch('flip', {
      ...cannotCreate,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'ClusterIsNotReady',
          message: 'Cluster Is Not Ready',
          lastTransitionTime: new Date().toISOString(),
        },
      ],
    });
    const waiting = waitHealthy(ctx(Date.now() + 180_000), 'default', 'flip', clock);
    await waitFor('the waiter to see the error phase', () => seen.includes(cannotCreate.phase), 30_000);
    await statusPatch('flip', healthy);
    const c = await waiting;
    delete pgd.operator.settings.holdStatus;
    expect(c.status?.phase).toBe('Cluster in healthy state');
    await live.destroy();
  });
});

describe('soak health gate', () => {
  it('ignores Pooler pods labelled with the cluster', async () => {
    const live = await createLiveCluster(pgd, { name: 'pooled', rows: 1, backup: false });
    const core = kc.makeApiClient(CoreV1Api);
    // A PgBouncer pod of Pooler "pooled-pooler-rw" as upstream labels it; never Ready here.
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: {
          name: 'pooled-pooler-rw-7c9d8b6f5-x2x4q',
          labels: {
            'cnpg.io/poolerName': 'pooled-pooler-rw',
            'cnpg.io/cluster': 'pooled',
            'cnpg.io/podRole': 'pooler',
          },
        },
        spec: { containers: [{ name: 'pgbouncer', image: 'ghcr.io/cloudnative-pg/pgbouncer:1.24.1' }] },
      },
    });
    try {
      const cluster = pgd.store.get(CLUSTERS, 'default', 'pooled') as unknown as Cluster;
      const gate = await measureHealth(makeClients(kc, 10_000), cluster);
      expect(gate.detail).not.toMatch(/pooler/);
      expect(gate.passed, gate.detail).toBe(true);
    } finally {
      await core
        .deleteNamespacedPod({ namespace: 'default', name: 'pooled-pooler-rw-7c9d8b6f5-x2x4q' })
        .catch(() => {});
      await live.destroy();
    }
  });
});

describe('addon-sync delete and wait', () => {
  it('waits for the PVCs, pods and Jobs, not only the Cluster', async () => {
    const live = await createLiveCluster(pgd, { name: 'retire', rows: 1, backup: false });
    const core = kc.makeApiClient(CoreV1Api);
    const pvc = (
      await core.listNamespacedPersistentVolumeClaim({ namespace: 'default', labelSelector: 'cnpg.io/cluster=retire' })
    ).items[0].metadata!.name!;
    // Something else still holds the volume (a backup tool's finalizer): its PVC outlives the Cluster.
    const hold = async (finalizers: string[]) =>
      core.patchNamespacedPersistentVolumeClaim(
        { namespace: 'default', name: pvc, body: { metadata: { finalizers } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await hold(['kubernetes.io/pvc-protection', 'backup.example.com/snapshot-in-progress']);
    let settled = false;
    const ctx = {
      clients: makeClients(kc, 10_000),
      deadline: Date.now() + 120_000,
      log: () => {},
    } as unknown as BackendContext;
    const deleting = deleteClusterAndWait(ctx, 'default', 'retire').finally(() => (settled = true));
    await waitFor('the Cluster to be gone', () => !pgd.store.get(CLUSTERS, 'default', 'retire'), 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(settled, 'delete-and-wait returned while a PVC of the cluster still exists').toBe(false);
    const current =
      (await core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: pvc })).metadata?.finalizers ?? [];
    await hold(current.filter((f) => f !== 'backup.example.com/snapshot-in-progress'));
    await deleting;
    for (const list of [
      core.listNamespacedPod({ namespace: 'default', labelSelector: 'cnpg.io/cluster=retire' }),
      core.listNamespacedPersistentVolumeClaim({ namespace: 'default', labelSelector: 'cnpg.io/cluster=retire' }),
    ])
      expect((await list).items.map((o) => o.metadata?.name)).toEqual([]);
    await live.destroy().catch(() => {});
  });
});
