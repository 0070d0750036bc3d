// The drill's read path (connectToPrimary over a port-forward + ReadOnlyDb) when the forwarded
// pod goes away mid-query: deleted through the API, or frozen so it never answers. Either way the
// query fails with a reason well within the statement timeout (deleted) or at the client-side
// deadline (frozen), never at the job timeout.
import { execFileSync } from 'node:child_process';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClients } from '../../actions/lib/kube/client.js';
import { connectToPrimary } from '../../actions/lib/postgres/cluster-connection.js';
import { clientDeadlineMs } from '../../actions/lib/postgres/client-config.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { CLUSTERS, createLiveCluster, isHealthy, waitFor } from '../helpers/live-cluster.js';

let pgd: PlaygroundHandle;
let kc: KubeConfig;
const core = { setSecret: () => {} };

beforeAll(async () => {
  pgd = await startPlayground();
  kc = new KubeConfig();
  kc.loadFromFile(pgd.kubeconfigPath);
});
afterAll(async () => {
  await pgd?.stop();
});

async function readPath(name: string, statementTimeoutMs: number) {
  const clients = makeClients(kc, 10_000);
  const cluster = pgd.store.get(CLUSTERS, 'default', name) as unknown as Cluster;
  const conn = await connectToPrimary(core, clients, cluster, {
    mode: 'port-forward',
    secretName: `${name}-superuser`,
  });
  const db = new ReadOnlyDb(conn.conn, { statementTimeoutMs, applicationName: 'cnpg-restore-drill' });
  return { conn, db, pod: conn.pod };
}

describe('the forwarded pod goes away mid-query', () => {
  it('deleted through the API: the query fails at once, naming the port-forward', async () => {
    await createLiveCluster(pgd, { name: 'gone', rows: 10, backup: false, spec: { enableSuperuserAccess: true } });
    const statementTimeoutMs = 60_000;
    const { conn, db, pod } = await readPath('gone', statementTimeoutMs);
    try {
      const query = db.query('SELECT pg_sleep(50)').then(
        () => undefined,
        (e: Error) => e,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      const deletedAt = Date.now();
      await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: pod, namespace: 'default' });
      const err = await query;
      const took = Date.now() - deletedAt;
      expect(err, 'the query must fail').toBeInstanceOf(Error);
      expect(err!.message).toMatch(new RegExp(`port-forward to pod default/${pod} port 5432`));
      expect(took).toBeLessThan(statementTimeoutMs / 3);
    } finally {
      await db.close().catch(() => {});
      await conn.close();
    }
  });

  it('frozen (no answer, connection open): the client-side deadline ends the query', async () => {
    await createLiveCluster(pgd, { name: 'frozen', rows: 10, backup: false, spec: { enableSuperuserAccess: true } });
    await waitFor('frozen healthy', () => isHealthy(pgd.store.get(CLUSTERS, 'default', 'frozen')), 120_000);
    const statementTimeoutMs = 4_000;
    const { conn, db } = await readPath('frozen', statementTimeoutMs);
    let pid = 0;
    try {
      [{ pid }] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The next statement lands on the same (only idle) session of the pool.
      execFileSync('kill', ['-STOP', String(pid)]);
      const started = Date.now();
      const query = db.query('SELECT 1').then(
        () => undefined,
        (e: Error) => e,
      );
      const err = await query;
      expect(err?.message).toMatch(/Query read timeout/);
      expect(Date.now() - started).toBeLessThan(clientDeadlineMs(statementTimeoutMs) + 2_000);
    } finally {
      if (pid) execFileSync('kill', ['-CONT', String(pid)]);
      await Promise.race([db.close().catch(() => {}), new Promise((r) => setTimeout(r, 1_000))]);
      await conn.close();
    }
  });
});
