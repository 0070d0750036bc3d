// Error phases CNPG retries vs the ones it never leaves (CONFORMANCE.md section 8): the clock in
// actions/lib/cnpg/health.ts, and a waiter (addon-sync's waitHealthy over watchUntil) facing a
// retried phase that persists while the API server sends no event at all: it must fail after
// the grace with the phaseReason, not at its deadline.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PhaseFailureClock } from '../../actions/lib/cnpg/health.js';
import { Phase, type Cluster } from '../../actions/lib/cnpg/types.js';
import { waitHealthy } from '../../actions/lib/addons/providers/cluster-ops.js';
import type { BackendContext } from '../../actions/lib/addons/providers/backend.js';
import { makeClients } from '../../actions/lib/kube/client.js';
import { listenLocalApi } from '../helpers/local-api.js';

const cluster = (phase: string, phaseReason = ''): Cluster => ({
  apiVersion: 'postgresql.cnpg.io/v1',
  kind: 'Cluster',
  metadata: { name: 'orders-db', namespace: 'shop', resourceVersion: '7' },
  spec: { instances: 1 },
  status: { phase, phaseReason, readyInstances: 0 },
});

describe('PhaseFailureClock', () => {
  it('fails at once on phases the operator never leaves', () => {
    const clock = new PhaseFailureClock(60_000, () => 0);
    expect(clock.failure(cluster(Phase.unrecoverable, 'Instance creation failed'))).toMatch(
      /^phase 'Cluster is unrecoverable.*': Instance creation failed$/,
    );
    expect(clock.failure(cluster(Phase.invalidDefinition, 'spec.storage: Required value'))).toMatch(
      /Invalid cluster definition/,
    );
  });

  it('fails on a retried phase only once it lasted the grace; a flip back resets it', () => {
    let now = 0;
    const clock = new PhaseFailureClock(60_000, () => now);
    for (const phase of [
      Phase.cannotCreateObjects,
      Phase.unknownPlugin,
      Phase.pluginError,
      Phase.invalidImageCatalog,
    ]) {
      now += 1;
      expect(clock.failure(cluster(phase, 'boom'))).toBeUndefined();
    }
    now += 59_000;
    expect(clock.failure(cluster(Phase.pluginError, 'boom'))).toBeUndefined();
    now += 1_000;
    expect(clock.failure(cluster(Phase.invalidImageCatalog, 'catalog "pg" not found'))).toMatch(
      /catalog "pg" not found \(retried by the operator, still failing after 60 s\)/,
    );
    expect(clock.failure(cluster(Phase.settingUpPrimary))).toBeUndefined();
    now += 1_000_000;
    expect(clock.failure(cluster(Phase.cannotCreateObjects, 'quota'))).toBeUndefined();
  });
});

describe('a retried phase that persists with no watch event', () => {
  const stuck = cluster(Phase.cannotCreateObjects, 'secrets "orders-db-app" is forbidden: exceeded quota');
  const held = new Set<net.Socket>();
  // GET the Cluster and the list; a watch that stays open and silent.
  const api = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Content-Type', 'application/json');
    if (url.searchParams.get('watch')) {
      held.add(req.socket);
      res.writeHead(200);
      return;
    }
    if (url.pathname.endsWith('/clusters/orders-db')) return res.end(JSON.stringify(stuck));
    res.end(
      JSON.stringify({
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'ClusterList',
        metadata: { resourceVersion: '7' },
        items: [stuck],
      }),
    );
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => api.close(r));
  });

  it('fails after the grace with the phaseReason', async () => {
    const kc = await listenLocalApi(api);
    const ctx = {
      clients: makeClients(kc, 10_000),
      deadline: Date.now() + 60_000,
      log: () => {},
    } as unknown as BackendContext;
    const started = Date.now();
    // A 500 ms grace re-judged every 100 ms (the product's: 3 minutes, every 5 s): only a recheck can fail it.
    const err = await waitHealthy(ctx, 'shop', 'orders-db', new PhaseFailureClock(500), 100).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /Cluster shop\/orders-db cannot become healthy: phase 'Unable to create required cluster objects': secrets "orders-db-app" is forbidden: exceeded quota \(retried by the operator/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
