// The product's port-forward (actions/lib/kube/portforward.ts) over client-node's real
// PortForward, through a minimal API server that hands the upgrade to the playground's kubelet
// port-forward (v4 channels: data + error channel per port). Every way the pod side can go away
// must end the local connection promptly with a reason: the pod closing its connection, an
// error-channel message, a dropped WebSocket; and a pod that stops answering is cut off by the
// client-side deadline of every query (pgClientConfig's query_timeout).
import http from 'node:http';
import net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardPodPort, type Forward } from '../../actions/lib/kube/portforward.js';
import { clientDeadlineMs, pgClientConfig } from '../../actions/lib/postgres/client-config.js';
import { handlePortForwardUpgrade } from '../playground/apiserver/portforward.js';

const POD_PORT = 5432;
const REFUSED_PORT = 5433;

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** The "pod": remembers its connections so a test can kill them, answers per `behaviour`. */
const pod = {
  behaviour: 'echo' as 'echo' | 'silent' | 'pg-startup-then-silent',
  conns: new Set<net.Socket>(),
  server: net.createServer((s) => {
    pod.conns.add(s);
    s.on('error', () => {});
    s.on('close', () => pod.conns.delete(s));
    if (pod.behaviour === 'echo') s.pipe(s);
    if (pod.behaviour === 'pg-startup-then-silent') s.once('data', () => s.write(pgStartupReply()));
  }),
  port: 0,
};

/** AuthenticationOk + ReadyForQuery: enough for node-postgres to consider the session open. */
function pgStartupReply(): Buffer {
  const auth = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
  const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
  return Buffer.concat([auth, ready]);
}

const upgraded = new Set<net.Socket>();
let refused = 0;
const api = http.createServer((_req, res) => res.writeHead(404).end());
api.on('upgrade', (req, socket: net.Socket, head) => {
  upgraded.add(socket);
  socket.on('close', () => upgraded.delete(socket));
  const resolve = (port: number) =>
    port === POD_PORT
      ? { host: '127.0.0.1', port: pod.port }
      : port === REFUSED_PORT
        ? { host: '127.0.0.1', port: refused }
        : undefined;
  handlePortForwardUpgrade(req, socket, head, { namespace: 'db', pod: 'pg-main-1', resolve });
});

let kc: KubeConfig;
beforeAll(async () => {
  pod.port = await listen(pod.server);
  const free = net.createServer();
  refused = await listen(free);
  await new Promise((r) => free.close(r));
  const apiPort = await listen(api);
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${apiPort}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
afterAll(async () => {
  for (const s of [...pod.conns, ...upgraded]) s.destroy();
  api.closeAllConnections();
  await Promise.all([new Promise((r) => pod.server.close(r)), new Promise((r) => api.close(r))]);
});

/** Connects a raw client through the forward; resolves when it closes, with the elapsed ms. */
async function openThrough(f: Forward): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const socket = net.connect(f.port, f.host);
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, closed };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms (hangs)`)), ms),
    ),
  ]);

describe('port-forward ends with the pod side', () => {
  it('the pod closing its connection ends the local connection, with the reason', async () => {
    pod.behaviour = 'echo';
    const f = await forwardPodPort(kc, 'db', 'pg-main-1', POD_PORT);
    try {
      const { socket, closed } = await openThrough(f);
      socket.write('ping');
      await new Promise((r) => socket.once('data', r));
      const killedAt = Date.now();
      for (const s of pod.conns) s.destroy();
      const at = await within(closed, 5_000, 'local connection after the pod went away');
      expect(at - killedAt).toBeLessThan(5_000);
      expect(f.failure()).toMatch(/^port-forward to pod db\/pg-main-1 port 5432: /);
    } finally {
      await f.close();
    }
  });

  it('an error-channel message ends the connection and is reported', async () => {
    const f = await forwardPodPort(kc, 'db', 'pg-main-1', REFUSED_PORT);
    try {
      const { closed } = await openThrough(f);
      await within(closed, 5_000, 'local connection after the kubelet reported an error');
      expect(f.failure()).toMatch(/the kubelet reported: error forwarding port 5433 to pod .*connection refused/);
    } finally {
      await f.close();
    }
  });

  it('a dropped WebSocket ends the connection and is reported', async () => {
    pod.behaviour = 'echo';
    const f = await forwardPodPort(kc, 'db', 'pg-main-1', POD_PORT);
    try {
      const { socket, closed } = await openThrough(f);
      socket.write('ping');
      await new Promise((r) => socket.once('data', r));
      for (const s of upgraded) s.destroy();
      await within(closed, 5_000, 'local connection after the WebSocket dropped');
      expect(f.failure()).toMatch(/the WebSocket closed \(code 1006\)/);
    } finally {
      await f.close();
    }
  });

  it('a pod that stops answering mid-query is cut off by the client-side deadline', async () => {
    pod.behaviour = 'pg-startup-then-silent';
    const f = await forwardPodPort(kc, 'db', 'pg-main-1', POD_PORT);
    // A short timeout: the client gives up at its 1 s floor past it (clientDeadlineMs, client-config.ts).
    const statementTimeoutMs = 100;
    const client = new pg.Client(
      pgClientConfig(
        { host: f.host, port: f.port, user: 'u', password: 'p', database: 'app' },
        { applicationName: 't', statementTimeoutMs },
      ),
    );
    client.on('error', () => {});
    try {
      await client.connect();
      const started = Date.now();
      const err = await within(
        client.query('SELECT pg_sleep(3600)').then(
          () => undefined,
          (e: Error) => e,
        ),
        10_000,
        'query to a silent pod',
      );
      expect(err?.message).toMatch(/Query read timeout/);
      expect(Date.now() - started).toBeLessThan(clientDeadlineMs(statementTimeoutMs) + 1_000);
    } finally {
      await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
      await f.close();
    }
  });
});
