// Direct (in-cluster) connections as CONFORMANCE.md "findings" records them: a replica read reaches the
// replica pod just checked ready by its IP, also when the -ro Service is disabled; with a Secret that
// carries no dbname, the database is CNPG's application database (recovery, pg_basebackup, initdb). The
// test process joins the playground's cluster network (cluster-network.ts), so `<cluster>-rw.<ns>.svc`
// really routes, and only where the endpoints controller routed it: a primary is reached once it does.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClients } from '../../actions/lib/kube/client.js';
import { connectToPrimary, connectToReplica } from '../../actions/lib/postgres/cluster-connection.js';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import { joinClusterNetwork, type ClusterNetwork } from '../playground/cluster-network.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { CLUSTERS, isHealthy, waitFor } from '../helpers/live-cluster.js';

let pgd: PlaygroundHandle;
let kc: KubeConfig;
let cluster: ClusterNetwork;
const core = { setSecret: () => {} };
const NAME = 'two-replicas';

beforeAll(async () => {
  pgd = await startPlayground();
  cluster = joinClusterNetwork(pgd);
  kc = new KubeConfig();
  kc.loadFromFile(pgd.kubeconfigPath);
  pgd.store.create(CLUSTERS, {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: NAME, namespace: 'default' },
    spec: { instances: 2, enableSuperuserAccess: true, storage: { size: '1Gi' } },
  });
  await waitFor(`cluster ${NAME} healthy`, () => isHealthy(pgd.store.get(CLUSTERS, 'default', NAME)), 120_000);
}, 180_000);
afterAll(async () => {
  await cluster?.leave();
  await pgd?.stop();
});

const live = () => pgd.store.get(CLUSTERS, 'default', NAME) as unknown as Cluster;

describe('direct mode', () => {
  it('reads a replica by the checked pod IP, also once -ro is disabled (and removed)', async () => {
    expect(pgd.store.get('v1/services', 'default', `${NAME}-ro`)).toBeDefined();
    pgd.store.mutate(CLUSTERS, 'default', NAME, (c) => {
      c.spec.managed = { services: { disabledDefaultServices: ['ro'] } };
    });
    await waitFor('-ro removed', () => !pgd.store.get('v1/services', 'default', `${NAME}-ro`), 30_000);
    expect(pgd.store.get('v1/services', 'default', `${NAME}-rw`)).toBeDefined();

    const conn = await connectToReplica(core, makeClients(kc, 10_000), live(), { mode: 'direct' });
    await conn.close();
    const pod = pgd.store.get('v1/pods', 'default', conn.pod)!;
    expect(conn.pod).not.toBe(live().status?.currentPrimary);
    expect(pod.status.podIP).toBeTruthy();
    expect(conn.conn.host).toBe(pod.status.podIP);
    expect(conn.conn.port).toBe(5432);
  });

  it('a Secret without dbname: the pg_basebackup database, not `app`', async () => {
    pgd.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/basic-auth',
      metadata: { name: 'no-dbname', namespace: 'default' },
      data: { username: Buffer.from('shop').toString('base64'), password: Buffer.from('s3cret').toString('base64') },
    });
    const copy = live();
    const cloned = {
      ...copy,
      spec: { ...copy.spec, bootstrap: { pg_basebackup: { source: 'origin', database: 'shop' } } },
    };
    const clients = makeClients(kc, 10_000);
    const opts = { mode: 'direct' as const, secretName: 'no-dbname' };
    expect((await connectToPrimary(core, clients, cloned, opts)).conn.database).toBe('shop');
    const both = {
      ...copy,
      spec: { ...copy.spec, bootstrap: { recovery: { database: 'books' }, initdb: { database: 'other' } } },
    } as Cluster;
    expect((await connectToPrimary(core, clients, both, opts)).conn.database).toBe('books');
    expect((await connectToPrimary(core, clients, copy, opts)).conn.database).toBe('app');
  });

  it('reaches the ready primary through -rw only once the Service routes to it (endpoints lag)', async () => {
    const service = `${NAME}-rw`;
    const routed = pgd.network.route('default', service)!;
    expect(routed.pods).toEqual([live().status?.currentPrimary]);
    // The pod is Ready, but kube-proxy has not caught up yet: nothing routed for 1.5 s.
    pgd.network.setRoute('default', service, { pods: [], ports: routed.ports });
    const restored = Date.now() + 1_500;
    setTimeout(() => pgd.network.setRoute('default', service, routed), 1_500);
    const conn = await connectToPrimary(core, makeClients(kc, 10_000), live(), { mode: 'direct' });
    expect(Date.now()).toBeGreaterThanOrEqual(restored);
    expect(conn.conn.host).toBe(`${service}.default.svc`);
    const db = new ReadOnlyDb(conn.conn, { statementTimeoutMs: 10_000 });
    try {
      expect(await db.query('SELECT pg_is_in_recovery() AS standby')).toEqual([{ standby: false }]);
    } finally {
      await db.close();
    }
  });

  it('a -rw that never routes fails within the bound, naming the Service and what to check', async () => {
    const service = `${NAME}-rw`;
    const routed = pgd.network.route('default', service)!;
    pgd.network.setRoute('default', service, { pods: [], ports: routed.ports });
    try {
      const opts = { mode: 'direct' as const, serviceRouteTimeoutMs: 2_000 };
      await expect(connectToPrimary(core, makeClients(kc, 10_000), live(), opts)).rejects.toThrow(
        new RegExp(`Service default/${service} .*did not reach the ready primary ${live().status?.currentPrimary}`),
      );
    } finally {
      pgd.network.setRoute('default', service, routed);
    }
  });
});
