// The in-cluster network of a test process (cluster-network.ts): a Service's DNS name reaches the pod the
// Service routes to now, through the endpoints delay, and nothing while it routes nowhere.
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './apiserver/testing.js';
import { joinClusterNetwork, type ClusterNetwork } from './cluster-network.js';
import { createTiming } from './timing.js';
import { waitFor } from '../helpers/wait.js';

let s: TestServer | undefined;
let cn: ClusterNetwork | undefined;
let echo: net.Server | undefined;
afterEach(async () => {
  await cn?.leave();
  await s?.stop();
  await new Promise((r) => (echo ? echo.close(r) : r(undefined)));
  [s, cn, echo] = [undefined, undefined, undefined];
});

/** Connects to host:port, sends a line; resolves with the reply, or the error code. */
const ask = (host: string, port: number) =>
  new Promise<string>((resolve) => {
    const c = net.connect(port, host, () => c.write('ping'));
    c.on('data', (d) => (resolve(d.toString()), c.destroy()));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    c.on('close', () => resolve('closed'));
  });

it('<service>.<ns>.svc reaches the Ready pod only once the Service routes to it', async () => {
  echo = net.createServer((c) => c.on('data', () => c.end('pong from db-1')));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  s = await startTestServer({ timing: createTiming({ seed: 3 }) });
  cn = joinClusterNetwork(s);
  s.network.register('default', 'db-1', 5432, { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  const spec = { selector: { app: 'db' }, ports: [{ port: 5432, targetPort: 5432 }] };
  s.store.create('v1/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db-rw', namespace: 'default' },
    spec,
  });
  expect(await ask('db-rw.default.svc', 5432)).toBe('ECONNRESET');
  expect(await ask('nope.default.svc.cluster.local', 5432)).toBe('ENOTFOUND');
  s.store.create('v1/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-1', namespace: 'default', labels: { app: 'db' } },
    spec: { containers: [{ name: 'c', image: 'postgres' }] },
  });
  await waitFor('routed', async () => (await ask('db-rw.default.svc', 5432)) === 'pong from db-1', 5_000, 20);
  expect(await cn.serviceIP('default', 'db-rw')).toMatch(/^127\.77\./);
});
