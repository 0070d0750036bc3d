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
let taken: net.Server | undefined;
afterEach(async () => {
  await cn?.leave();
  await s?.stop();
  await new Promise((r) => (echo ? echo.close(r) : r(undefined)));
  await new Promise((r) => (taken?.listening ? taken.close(r) : r(undefined)));
  [s, cn, echo, taken] = [undefined, undefined, undefined, undefined];
});

/** Connects to host:port, sends a line; resolves with the reply, or the error code. */
const ask = (host: string, port: number) =>
  new Promise<string>((resolve) => {
    const c = net.connect(port, host, () => c.write('ping'));
    c.on('data', (d) => (resolve(d.toString()), c.destroy()));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    c.on('close', () => resolve('closed'));
  });

/** A Service db-rw routing to a pod db-1 (a Ready pod: an echo server) once the endpoints controller has run. */
async function routedService(): Promise<void> {
  echo = net.createServer((c) => c.on('data', () => c.end('pong from db-1')));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  s = await startTestServer({ timing: createTiming({ seed: 3 }) });
  cn = joinClusterNetwork(s);
  s.network.register('default', 'db-1', 5432, { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  const meta = { name: 'db-rw', namespace: 'default' };
  const spec = { selector: { app: 'db' }, ports: [{ port: 5432, targetPort: 5432 }] };
  s.store.create('v1/services', { apiVersion: 'v1', kind: 'Service', metadata: meta, spec });
  const pod = { name: 'db-1', namespace: 'default', labels: { app: 'db' } };
  const podSpec = { containers: [{ name: 'c', image: 'postgres' }] };
  s.store.create('v1/pods', { apiVersion: 'v1', kind: 'Pod', metadata: pod, spec: podSpec });
}

it('a ClusterIP address another process holds (another test process in the cluster network) is skipped', async () => {
  taken = net.createServer();
  // Held here, or already by a test process running meanwhile: either way the first address is taken.
  await new Promise<void>((r) => taken!.once('error', () => r()).listen(5432, '127.77.0.1', r));
  await routedService();
  await waitFor('routed', async () => (await ask('db-rw.default.svc', 5432)) === 'pong from db-1', 5_000, 20);
  expect(await cn!.serviceIP('default', 'db-rw')).not.toBe('127.77.0.1');
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
