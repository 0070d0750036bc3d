// A live cluster that also takes volumeSnapshot backups (CONFORMANCE.md section 7): the newest
// completed Backup is a snapshot whose backupId is its own name. A restore-point drill must
// still recover from the object store with the barman backup's ID (the webhook requires a
// backupID for targetName), report that backup, and pass.
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { explain, leftovers, runDrill } from './support.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;
let barmanId: string;

beforeAll(async () => {
  pgd = await startPlayground();
  live = await createLiveCluster(pgd, { name: 'ledger', rows: 200 });
  const barman = pgd.store
    .list('postgresql.cnpg.io/v1/backups', 'default')
    .items.find((b) => b.spec.cluster.name === 'ledger' && b.status?.phase === 'completed')!;
  barmanId = barman.status.backupId;
  // The snapshot Backup, newer than the barman one, with the status CNPG's backup controller writes.
  const kc = new KubeConfig();
  kc.loadFromFile(pgd.kubeconfigPath);
  const api = kc.makeApiClient(CustomObjectsApi);
  const ref = { group: 'postgresql.cnpg.io', version: 'v1', namespace: 'default', plural: 'backups' };
  const name = 'ledger-snapshot-20260110020000';
  await api.createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: { name },
      spec: { cluster: { name: 'ledger' }, method: 'volumeSnapshot', online: true },
    },
  });
  const at = new Date(Date.now() + 1_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await api.patchNamespacedCustomObjectStatus(
    {
      ...ref,
      name,
      body: {
        status: {
          phase: 'completed',
          method: 'volumeSnapshot',
          backupId: name,
          backupName: name,
          startedAt: at,
          stoppedAt: at,
          online: true,
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
});
afterAll(async () => {
  await pgd?.stop();
});

describe('a newer volumeSnapshot Backup', () => {
  it('restore-point drill recovers with the barman backup ID, not the snapshot name', async () => {
    await live.writeRows(5);
    const r = await runDrill(pgd, {
      cluster: 'ledger',
      namespace: 'default',
      'restore-point': true,
      'record-history': false,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs['backup-id']).toBe(barmanId);
    expect(r.summary).toMatch(/ledger-snapshot-20260110020000: a volume snapshot, not in the object store/);
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  });
});
