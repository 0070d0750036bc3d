// pods/portforward for the playground API server. There is no kubelet here, so this file plays
// the API server and kubelet at once: it speaks the three port-forward protocols clients use and
// pipes every forwarded stream to the local TCP listener standing in for the pod's port.
//
//  - WebSocket `v4.channel.k8s.io` / `v4.base64.channel.k8s.io` (client-node's PortForward):
//    channel 2i is data and 2i+1 errors for the i-th `ports` query value; each channel's first
//    server message is the port, 2 bytes little-endian. One WebSocket = one TCP connection per port.
//  - SPDY/3.1 after a plain HTTP Upgrade (kubectl with KUBECTL_PORT_FORWARD_WEBSOCKETS=false):
//    per forwarded connection the client opens an error stream and a data stream sharing a requestid.
//  - The same SPDY byte stream tunnelled in binary WebSocket messages, subprotocol
//    `SPDY/3.1+portforward.k8s.io` (kubectl's default since 1.31).
// This file negotiates; one file per protocol under portforward/ (channels.ts, spdy.ts, tunnel.ts), the
// SPDY framing in spdy-frames.ts, and dialling the pod's port in dial.ts.

import { STATUS_CODES, type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ChannelSession } from './portforward/channels.js';
import { parsePort, type PortForwardTarget } from './portforward/dial.js';
import { LINGER_MS, SpdySession } from './portforward/spdy.js';
import { serveTunnel } from './portforward/tunnel.js';

export type { PortForwardTarget } from './portforward/dial.js';
export {
  SPDY_DICTIONARY,
  adler32,
  decodeHeaderBlock,
  encodeHeaderBlock,
  HeaderCompressor,
  HeaderDecompressor,
} from './portforward/spdy-frames.js';

const TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
const CHANNEL_PROTOCOL = 'v4.channel.k8s.io';
const BASE64_CHANNEL_PROTOCOL = 'v4.base64.channel.k8s.io';
/** '' = no subprotocol requested: kubelet then speaks binary channels, like v4. */
const WEBSOCKET_PROTOCOLS = [TUNNEL_PROTOCOL, CHANNEL_PROTOCOL, BASE64_CHANNEL_PROTOCOL];
const STREAM_PROTOCOL = 'portforward.k8s.io';

export function handlePortForwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: PortForwardTarget,
): void {
  // Peers resetting mid-handshake must not become an unhandled 'error' in the API server.
  socket.on('error', () => socket.destroy());
  const upgrade = tokens(req.headers.upgrade).map((t) => t.toLowerCase());
  if (upgrade.includes('websocket')) upgradeWebSocket(req, socket, head, target);
  else if (upgrade.includes('spdy/3.1')) upgradeSpdy(req, socket, head, target);
  else rejectUpgrade(socket, 400, 'unable to upgrade: missing upgrade headers in request');
}

// ---------------------------------------------------------------------------------------------
// Handshakes

function tokens(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function rejectUpgrade(socket: Duplex, code: number, message: string, extraHeaders: string[] = []): void {
  const reason = code === 403 ? 'Forbidden' : 'BadRequest';
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
  const head = [
    `HTTP/1.1 ${code} ${STATUS_CODES[code]}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extraHeaders,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

function upgradeSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget): void {
  const offered = tokens(req.headers['x-stream-protocol-version']);
  if (offered.length > 0 && !offered.includes(STREAM_PROTOCOL)) {
    const message = `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${STREAM_PROTOCOL}]`;
    rejectUpgrade(socket, 403, message, [`X-Accepted-Stream-Protocol-Versions: ${STREAM_PROTOCOL}`]);
    return;
  }
  if (!tokens(req.headers.connection).some((t) => t.toLowerCase() === 'upgrade')) {
    rejectUpgrade(socket, 400, 'unable to upgrade: missing upgrade headers in request');
    return;
  }
  const response = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (offered.length > 0) response.push(`X-Stream-Protocol-Version: ${STREAM_PROTOCOL}`);
  socket.write(`${response.join('\r\n')}\r\n\r\n`);
  if (socket instanceof net.Socket) socket.setNoDelay(true);
  const session = new SpdySession(socket, target, () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
  if (head.length > 0) session.feed(head);
}

function upgradeWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget): void {
  const offered = tokens(req.headers['sec-websocket-protocol']);
  // Like kubelet's wsstream: the first protocol the client lists that we speak wins.
  const protocol = offered.length === 0 ? '' : offered.find((p) => WEBSOCKET_PROTOCOLS.includes(p));
  if (protocol === undefined) {
    const message = `unable to upgrade websocket connection: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${WEBSOCKET_PROTOCOLS.join(' ')}]`;
    rejectUpgrade(socket, 400, message);
    return;
  }
  let ports: number[] = [];
  if (protocol !== TUNNEL_PROTOCOL) {
    // The tunnel carries ports in SPDY stream headers; channels need them up front.
    const parsed = parsePortsQuery(req.url);
    if (typeof parsed === 'string') {
      rejectUpgrade(socket, 400, parsed);
      return;
    }
    ports = parsed;
  }

  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
  wss.on('headers', (headers) => {
    if (protocol !== '') headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
  });
  // ws refuses subprotocols with '/' (not an RFC 7230 token char), which the SPDY tunnel's has,
  // so the negotiation above is ours and ws never sees the header. handleUpgrade reads it synchronously.
  const requested = req.headers['sec-websocket-protocol'];
  delete req.headers['sec-websocket-protocol'];
  try {
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (protocol === TUNNEL_PROTOCOL) serveTunnel(ws, target);
      else new ChannelSession(ws, ports, protocol === BASE64_CHANNEL_PROTOCOL, target);
    });
  } finally {
    if (requested !== undefined) req.headers['sec-websocket-protocol'] = requested;
  }
}

/** `ports=5432&ports=8000` or `ports=5432,8000` (kubelet itself calls the parameter `port`). */
function parsePortsQuery(url: string | undefined): number[] | string {
  const query = new URL(url ?? '/', 'http://localhost').searchParams;
  const values = [...query.getAll('ports'), ...query.getAll('port')];
  if (values.length === 0) return 'query parameter "ports" is required';
  const ports: number[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const port = parsePort(part);
      if (port === undefined) return `unable to parse "${value}" as a port: must be an integer between 1 and 65535`;
      ports.push(port);
    }
  }
  return ports;
}
