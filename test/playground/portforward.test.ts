// pods/portforward against real clients: @kubernetes/client-node's PortForward (WebSocket v4
// channels) and kubectl (SPDY tunnelled in WebSocket, and plain SPDY), through a minimal API
// server that routes the upgrade to handlePortForwardUpgrade, to a local TCP echo "pod".

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { KubeConfig, PortForward } from '@kubernetes/client-node';
import { WebSocket as WebSocketClient, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeaderCompressor,
  HeaderDecompressor,
  SPDY_DICTIONARY,
  adler32,
  decodeHeaderBlock,
  encodeHeaderBlock,
  handlePortForwardUpgrade,
} from './apiserver/portforward.js';

const KUBECTL = path.resolve('.tools/bin/kubectl');
const ECHO_PORT = 9000; // container port served by the echo server
const REFUSED_PORT = 9001; // registered, but nothing listens
const UNKNOWN_PORT = 9002; // not registered at all

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** The "pod": echoes every byte and counts open and closed connections. */
class EchoServer {
  readonly server = net.createServer((socket) => {
    this.opened += 1;
    this.open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.open.delete(socket);
      this.closed += 1;
    });
    socket.pipe(socket);
  });
  readonly open = new Set<net.Socket>();
  opened = 0;
  closed = 0;
  port = 0;

  async start(): Promise<void> {
    this.port = await listen(this.server);
  }

  stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p1',
    namespace: 'default',
    uid: '7d6f3c2e-0000-4000-8000-000000000001',
    resourceVersion: '1',
    creationTimestamp: '2025-01-01T00:00:00Z',
  },
  spec: { containers: [{ name: 'echo', image: 'echo', ports: [{ containerPort: ECHO_PORT, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: '10.0.0.10', conditions: [{ type: 'Ready', status: 'True' }] },
};

const discovery: Record<string, unknown> = {
  '/version': { major: '1', minor: '34', gitVersion: 'v1.34.0', platform: 'linux/amd64' },
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
      {
        name: 'pods/portforward',
        singularName: '',
        namespaced: true,
        kind: 'PodPortForwardOptions',
        verbs: ['create', 'get'],
      },
    ],
  },
  '/api/v1/namespaces/default/pods/p1': pod,
};

/** Just enough API server for kubectl port-forward: discovery, GET pod, and the upgrade. */
class TestApi {
  readonly upgrades: string[] = []; // `<Upgrade header> <Sec-WebSocket-Protocol>` per upgrade
  readonly sockets = new Set<net.Socket>();
  url = '';
  private readonly server = http.createServer((req, res) => {
    const body = discovery[new URL(req.url ?? '/', 'http://x').pathname];
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }),
    );
  });

  constructor(private readonly echo: EchoServer) {
    this.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.upgrades.push(`${req.headers.upgrade} ${req.headers['sec-websocket-protocol'] ?? ''}`.trim());
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(
        new URL(req.url ?? '/', 'http://x').pathname,
      );
      if (!m || m[1] !== 'default' || m[2] !== 'p1') {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      handlePortForwardUpgrade(req, socket, head, {
        namespace: m[1],
        pod: m[2],
        resolve: (port) => this.resolve(port),
      });
    });
  }

  refusedPort = 0;

  resolve(port: number): { host: string; port: number } | undefined {
    if (port === ECHO_PORT) return { host: '127.0.0.1', port: this.echo.port };
    if (port === REFUSED_PORT) return { host: '127.0.0.1', port: this.refusedPort };
    return undefined;
  }

  async start(): Promise<void> {
    const free = net.createServer();
    this.refusedPort = await listen(free);
    await new Promise((r) => free.close(r));
    this.url = `http://127.0.0.1:${await listen(this.server)}`;
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  length = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    done();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

let echo: EchoServer;
let api: TestApi;
let tmp: string;
let kubeconfigPath: string;

beforeAll(async () => {
  echo = new EchoServer();
  await echo.start();
  api = new TestApi(echo);
  await api.start();
  tmp = mkdtempSync(path.join(tmpdir(), 'portforward-'));
  kubeconfigPath = path.join(tmp, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: test\n  cluster:\n    server: ${api.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: test\n  user:\n    token: test',
      'contexts:',
      '- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default',
      'current-context: test',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await api?.stop();
  await echo?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('client-node PortForward (WebSocket v4.channel.k8s.io)', () => {
  async function forward(port: number) {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: api.url, skipTLSVerify: true }],
      users: [{ name: 'test' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
      currentContext: 'test',
    });
    const output = new Collector();
    const errors = new Collector();
    const input = new PassThrough();
    const ws = (await new PortForward(kc).portForward(
      'default',
      'p1',
      [port],
      output,
      errors,
      input,
    )) as unknown as WebSocket;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    return { ws, output, errors, input, closed };
  }

  async function roundTrip(payload: Buffer, port = ECHO_PORT): Promise<void> {
    const f = await forward(port);
    expect(f.ws.protocol).toBe('v4.channel.k8s.io');
    for (let i = 0; i < payload.length; i += 65536) f.input.write(payload.subarray(i, i + 65536));
    await waitFor('echoed payload', () => f.output.length >= payload.length, 60_000);
    expect(f.output.bytes().equals(payload)).toBe(true);
    expect(f.errors.length).toBe(0);
    f.input.end();
    await f.closed;
  }

  it('round-trips bytes, and the target connection closes when the client disconnects', async () => {
    const before = echo.closed;
    const f = await forward(ECHO_PORT);
    f.input.write('hello, pod');
    await waitFor('echo', () => f.output.length >= 10);
    expect(f.output.bytes().toString()).toBe('hello, pod');
    expect(echo.open.size).toBe(1);
    f.input.end(); // client-node closes the WebSocket
    await f.closed;
    await waitFor('target close', () => echo.closed === before + 1 && echo.open.size === 0);
  });

  it('carries a few MB both ways', async () => {
    await roundTrip(randomBytes(4 * 1024 * 1024));
  });

  it('runs two forwards concurrently, each on its own target connection', async () => {
    const opened = echo.opened;
    await Promise.all([roundTrip(randomBytes(1024 * 1024)), roundTrip(randomBytes(1536 * 1024))]);
    expect(echo.opened).toBe(opened + 2);
  });

  it('reports refused and unregistered targets on the error channel, then stays healthy', async () => {
    for (const port of [REFUSED_PORT, UNKNOWN_PORT]) {
      const f = await forward(port);
      await f.closed; // the server closes once its only port is done
      const message = f.errors.bytes().toString();
      expect(message).toMatch(
        new RegExp(`^error forwarding port ${port} to pod default/p1, uid : failed to connect to localhost:${port}`),
      );
      expect(message).toContain('connect: connection refused');
      expect(f.output.length).toBe(0);
    }
    await roundTrip(Buffer.from('still alive'));
  });
});

describe('WebSocket v4.base64.channel.k8s.io', () => {
  it('frames channels as a digit plus base64 text', async () => {
    const url = `${api.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/p1/portforward?ports=${ECHO_PORT}`;
    const ws = new WebSocketClient(url, ['v4.base64.channel.k8s.io']);
    const messages: string[] = [];
    ws.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      messages.push(data.toString());
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect(ws.protocol).toBe('v4.base64.channel.k8s.io');
    ws.send(`0${Buffer.from('ping').toString('base64')}`);
    await waitFor('echo', () => messages.length >= 3);
    const port = Buffer.from([ECHO_PORT & 0xff, ECHO_PORT >> 8]).toString('base64');
    expect(messages).toEqual(
      expect.arrayContaining([`0${port}`, `1${port}`, `0${Buffer.from('ping').toString('base64')}`]),
    );
    ws.close();
    await waitFor('target close', () => echo.open.size === 0);
  });
});

describe('kubectl port-forward', () => {
  interface Kubectl {
    proc: ChildProcess;
    localPort: number;
    stderr: () => string;
    exited: Promise<number | null>;
  }

  async function startKubectl(remotePort: number, env: Record<string, string> = {}): Promise<Kubectl> {
    const proc = spawn(
      KUBECTL,
      ['--kubeconfig', kubeconfigPath, 'port-forward', 'pod/p1', `:${remotePort}`, '--address', '127.0.0.1'],
      {
        env: { ...process.env, HOME: tmp, KUBECONFIG: kubeconfigPath, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => (stdout += d));
    proc.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    let localPort = 0;
    await waitFor(`kubectl to listen (stderr: ${stderr})`, () => {
      const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(stdout);
      if (m) localPort = Number(m[1]);
      return localPort > 0 || proc.exitCode !== null;
    });
    if (!localPort) throw new Error(`kubectl exited: ${stderr}`);
    return { proc, localPort, stderr: () => stderr, exited };
  }

  async function stopKubectl(k: Kubectl): Promise<void> {
    if (k.proc.exitCode === null) k.proc.kill('SIGTERM');
    await k.exited;
  }

  /** Sends `payload` through kubectl's local port and resolves with the socket once it's all echoed. */
  async function echoThrough(localPort: number, payload: Buffer): Promise<net.Socket> {
    const socket = net.connect(localPort, '127.0.0.1');
    socket.on('error', () => {}); // reset when kubectl goes away first
    const received: Buffer[] = [];
    let length = 0;
    socket.on('data', (d: Buffer) => {
      received.push(d);
      length += d.length;
    });
    socket.write(payload);
    await waitFor('echo through kubectl', () => length >= payload.length, 60_000);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    return socket;
  }

  async function exercise(k: Kubectl): Promise<void> {
    // Two local connections at once: two stream pairs on one SPDY connection.
    const [a, b] = await Promise.all([
      echoThrough(k.localPort, randomBytes(3 * 1024 * 1024)),
      echoThrough(k.localPort, Buffer.from('small')),
    ]);
    // Local close -> kubectl half-closes the data stream -> the target connection closes.
    const closedBefore = echo.closed;
    a.end();
    await waitFor('target close after local close', () => echo.closed === closedBefore + 1);
    // kubectl going away mid-connection tears the remaining target connection down.
    await stopKubectl(k);
    await waitFor('target close after kubectl exit', () => echo.open.size === 0);
    b.destroy();
  }

  it('uses the SPDY/3.1-over-WebSocket tunnel by default', async () => {
    const k = await startKubectl(ECHO_PORT);
    try {
      await exercise(k);
      expect(api.upgrades.at(-1)).toBe('websocket SPDY/3.1+portforward.k8s.io');
      expect(k.stderr()).not.toMatch(/error|fail/i);
    } finally {
      await stopKubectl(k);
    }
  });

  it('speaks plain SPDY/3.1 when websockets are disabled', async () => {
    const k = await startKubectl(ECHO_PORT, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
    try {
      await exercise(k);
      expect(api.upgrades.at(-1)).toBe('SPDY/3.1');
      expect(k.stderr()).not.toMatch(/error|fail/i);
    } finally {
      await stopKubectl(k);
    }
  });

  it.each([
    ['tunnel', {}],
    ['SPDY', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
  ])('shows the kubelet error when nothing listens in the pod (%s)', async (_name, env) => {
    const k = await startKubectl(REFUSED_PORT, env);
    try {
      const socket = net.connect(k.localPort, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('anyone?');
      await waitFor('kubectl error', () => k.stderr().includes('error forwarding port 9001 to pod default/p1'));
      expect(k.stderr()).toContain('connection refused');
      socket.destroy();
    } finally {
      await stopKubectl(k);
    }
    // The API server is fine afterwards.
    const k2 = await startKubectl(ECHO_PORT, env);
    try {
      (await echoThrough(k2.localPort, Buffer.from('after the error'))).destroy();
    } finally {
      await stopKubectl(k2);
    }
  });
});

describe('SPDY header blocks', () => {
  it('uses the SPDY/3 dictionary (its zlib id is 0xe3c6a7c2)', () => {
    expect(SPDY_DICTIONARY.length).toBe(1423);
    expect(adler32(SPDY_DICTIONARY)).toBe(0xe3c6a7c2);
  });

  it('keeps one zlib context per direction: blocks decode one by one, by Node and by our inflater', async () => {
    const compressor = new HeaderCompressor();
    const nodeInflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
    const received: Buffer[] = [];
    nodeInflate.on('data', (chunk: Buffer) => received.push(chunk));
    const ours = new HeaderDecompressor((err) => {
      throw err;
    });
    const blocks: Record<string, string>[] = [
      {},
      { streamtype: 'error', port: '5432', requestid: '0' },
      { big: 'x'.repeat(70_000) },
    ];
    for (const headers of blocks) {
      const compressed = compressor.compress(encodeHeaderBlock(headers));
      nodeInflate.write(compressed);
      await new Promise<void>((resolve) => nodeInflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      expect(Object.fromEntries(decodeHeaderBlock(Buffer.concat(received.splice(0))))).toEqual(headers);
      expect(Object.fromEntries(decodeHeaderBlock(await ours.decompress(compressed)))).toEqual(headers);
    }
    // And what a real deflater (kubectl's side) produces, sharing its context across blocks.
    const deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
    const out: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => out.push(chunk));
    const ours2 = new HeaderDecompressor((err) => {
      throw err;
    });
    for (const headers of blocks) {
      deflate.write(encodeHeaderBlock(headers));
      await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      expect(Object.fromEntries(decodeHeaderBlock(await ours2.decompress(Buffer.concat(out.splice(0)))))).toEqual(
        headers,
      );
    }
    ours.close();
    ours2.close();
  }, 10_000);
});
