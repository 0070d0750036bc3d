// A local TCP port that forwards to a pod port through the API server (pods/portforward over
// WebSocket), so runners outside the cluster reach Postgres the way `kubectl port-forward` does.
// kubelet pairs a data channel with an error channel per port and closes both when the pod's
// connection ends (test/playground/CONFORMANCE.md section 9); client-node 1.4 neither ends the
// local socket when the WebSocket closes nor reports the error channel, so this module does:
// every forwarded connection ends with the pod side, and the reason is kept for the caller.
import { KubeConfig, PortForward } from '@kubernetes/client-node';
import net from 'node:net';
import { Writable } from 'node:stream';
import type WebSocket from 'ws';

export interface Forward {
  host: string;
  port: number;
  /** Why the latest forwarded connection ended abnormally (error channel, WebSocket drop), if it did. */
  failure(): string | undefined;
  close(): Promise<void>;
}

/** Options for tests: client-node's handler can be injected the way its own tests do. */
export interface ForwardOptions {
  portForward?: Pick<PortForward, 'portForward'>;
}

export async function forwardPodPort(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  podPort: number,
  opts: ForwardOptions = {},
): Promise<Forward> {
  const pf = opts.portForward ?? new PortForward(kc, true);
  const where = `port-forward to pod ${namespace}/${pod} port ${podPort}`;
  const sockets = new Set<net.Socket>();
  let lastFailure: string | undefined;
  let closing = false;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const fail = (why: string, destroy = true) => {
      if (closing) return;
      lastFailure = `${where}: ${why}`;
      if (destroy) socket.destroy();
    };
    let errorText = '';
    // kubelet writes one message on the error channel, then closes the connection.
    const errors = new Writable({
      write(chunk: Buffer, _enc, done) {
        errorText += chunk.toString('utf8');
        done();
      },
    });
    pf.portForward(namespace, pod, [podPort], socket, errors, socket).then(
      (handle) => attach(typeof handle === 'function' ? handle() : handle, socket, () => errorText, fail),
      (err) => fail(`could not open the WebSocket (${(err as Error)?.message ?? 'connection refused'})`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    failure: () => lastFailure,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Ties the local socket to the WebSocket: whichever ends first ends the other. */
function attach(
  ws: WebSocket | null,
  socket: net.Socket,
  errorText: () => string,
  fail: (why: string, destroy?: boolean) => void,
): void {
  if (!ws) return fail('no WebSocket');
  let clientEnded = false;
  let localClosed = false;
  socket.on('end', () => (clientEnded = true));
  socket.on('close', () => {
    localClosed = true;
    ws.close();
  });
  const ended = (why: string) => {
    if (localClosed) return;
    const text = errorText().trim();
    if (text) return fail(`the kubelet reported: ${text}`);
    if (why) return fail(why);
    // An orderly close the client did not ask for: the pod (or its process) closed the connection.
    if (!clientEnded) fail('the pod closed the connection (pod deleted, restarted or its server stopped)', false);
    socket.end();
  };
  ws.on('error', (err: Error) => ended(`the WebSocket failed (${err.message})`));
  ws.on('close', (code: number, reason: Buffer) => {
    // 1000/1005 after the pod closed its side is an orderly end; anything else is a drop.
    const normal = code === 1000 || code === 1005;
    ended(
      normal
        ? ''
        : `the WebSocket closed (code ${code}${reason?.length ? `: ${reason.toString()}` : ''}) before the pod's connection ended`,
    );
  });
  if (ws.readyState >= 2) ended('the WebSocket closed before the first byte');
}
