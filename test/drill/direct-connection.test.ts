// Direct (in-cluster) connections as CONFORMANCE.md "findings" records them: a replica read reaches the
// replica pod just checked ready by its IP, also when the -ro Service is disabled; with a Secret that
// carries no dbname, the database is CNPG's application database (recovery, pg_basebackup, initdb).
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClients } from '../../actions/lib/kube/client.js';
import { connectToPrimary, connectToReplica } from '../../actions/lib/postgres/cluster-connection.js';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { CLUSTERS, isHealthy, waitFor } from '../helpers/live-cluster.js';

let pgd: PlaygroundHandle;
let kc: KubeConfig;
const core = { setSecret: () => {} };
const NAME = 'two-replicas';

beforeAll(async () => {
  pgd = await startPlayground();
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
});
