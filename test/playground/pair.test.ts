// Two Kubernetes clusters sharing one object store (startPlaygroundPair): separate API servers,
// stores and operators; a backup taken on the live site restores on the disaster-recovery site.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTERS,
  connectTo,
  createLiveCluster,
  ensureNamespace,
  isHealthy,
  playgroundStore,
  waitFor,
  type LiveCluster,
} from '../helpers/live-cluster.js';
import { startPlaygroundPair, type PlaygroundPair } from './playground.js';

let pair: PlaygroundPair;
let live: LiveCluster;
beforeAll(async () => {
  pair = await startPlaygroundPair();
  live = await createLiveCluster(pair.live, {
    name: 'Orders-Primary-Site'.toLowerCase(),
    namespace: 'payments',
    rows: 500,
  });
}, 240_000);
afterAll(async () => {
  await pair?.stop();
});

describe('startPlaygroundPair', () => {
  it('runs two API servers with their own objects and one S3', () => {
    expect(pair.live.apiUrl).not.toBe(pair.dr.apiUrl);
    expect(pair.live.env.PLAYGROUND_S3_ENDPOINT).toBe(pair.dr.env.PLAYGROUND_S3_ENDPOINT);
    expect(pair.live.store.get(CLUSTERS, 'payments', live.name)).toBeTruthy();
    expect(pair.dr.store.get('v1/namespaces', undefined, 'payments')).toBeUndefined();
    expect(pair.dr.store.types().some((t) => t.group === 'postgresql.cnpg.io')).toBe(true);
  });

  it('restores the live site backup in the other cluster', async () => {
    ensureNamespace(pair.dr, 'dr-drills');
    const name = 'orders-restored-at-dr';
    pair.dr.store.create(CLUSTERS, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name, namespace: 'dr-drills' },
      spec: {
        instances: 1,
        enableSuperuserAccess: true,
        storage: { size: '1Gi' },
        bootstrap: { recovery: { source: 'origin', database: 'app', owner: 'app' } },
        externalClusters: [
          {
            name: 'origin',
            barmanObjectStore: {
              ...playgroundStore(pair.dr, 'unused'),
              destinationPath: live.destinationPath,
              serverName: live.serverName,
            },
          },
        ],
      },
    });
    await waitFor(
      'recovery cluster healthy at the DR site',
      () => isHealthy(pair.dr.store.get(CLUSTERS, 'dr-drills', name)),
      180_000,
      250,
    );
    const c = await connectTo(pair.dr, 'dr-drills', name, 'app');
    try {
      expect((await c.query('SELECT count(*)::int AS n FROM public.orders')).rows[0].n).toBe(500);
    } finally {
      await c.end();
    }
    // Nothing of it exists on the live site.
    expect(pair.live.store.get(CLUSTERS, 'dr-drills', name)).toBeUndefined();
    expect(pair.live.network.resolve('dr-drills', `${name}-1`, 5432)).toBeUndefined();
  }, 240_000);
});
