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

import { STATUS_CODES, type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { WebSocket, WebSocketServer, createWebSocketStream, type RawData } from 'ws';

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  resolve: (containerPort: number) => { host: string; port: number } | undefined;
}

const TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
const CHANNEL_PROTOCOL = 'v4.channel.k8s.io';
const BASE64_CHANNEL_PROTOCOL = 'v4.base64.channel.k8s.io';
/** '' = no subprotocol requested: kubelet then speaks binary channels, like v4. */
const WEBSOCKET_PROTOCOLS = [TUNNEL_PROTOCOL, CHANNEL_PROTOCOL, BASE64_CHANNEL_PROTOCOL];
const STREAM_PROTOCOL = 'portforward.k8s.io';

/** containerd gives the second direction this long to finish once the first one has. */
const LINGER_MS = 1000;
/** kubelet's streamCreationTimeout: how long a lone error or data stream waits for its partner. */
const PAIR_TIMEOUT_MS = 30_000;
/** Unflushed WebSocket bytes above which target sockets are paused (and resumed below LOW). */
const WS_HIGH_WATER = 1 << 20;
const WS_LOW_WATER = 1 << 18;

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

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
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

// ---------------------------------------------------------------------------------------------
// Dialling the "pod"

type Dial = { socket: net.Socket } | { error: string };

function forwardError(target: PortForwardTarget, port: number, detail: string): string {
  // kubelet's wording (CRI runtimes report the sandbox as "pod" and leave uid empty).
  return `error forwarding port ${port} to pod ${target.namespace}/${target.pod}, uid : ${detail}`;
}

/** Node error -> the Go net error text kubectl users know. */
function goNetError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const texts: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset by peer',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'no route to host',
    EPIPE: 'broken pipe',
  };
  const text = (err.code && texts[err.code]) ?? err.message;
  const op = err.syscall === 'connect' ? 'dial' : err.syscall === 'write' ? 'write' : 'read';
  return `${op} tcp4 ${host}:${port}: ${err.syscall ?? 'read'}: ${text}`;
}

function connectFailure(target: PortForwardTarget, port: number, cause: string): string {
  return forwardError(
    target,
    port,
    `failed to connect to localhost:${port} inside namespace "${target.namespace}/${target.pod}", IPv4: ${cause}`,
  );
}

/**
 * Opens the TCP connection for one forwarded stream. Connection failures arrive later as the
 * socket's 'error'; `describeError` turns them into the message for the error stream.
 */
function dialTarget(
  target: PortForwardTarget,
  port: number,
  allowHalfOpen: boolean,
): Dial & { describeError?: (err: Error) => string } {
  const address = target.resolve(port);
  // Nothing registered for the port: in a real pod nothing would listen on it.
  if (!address)
    return { error: connectFailure(target, port, `dial tcp4 127.0.0.1:${port}: connect: connection refused`) };
  const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen });
  socket.setNoDelay(true);
  const describeError = (err: NodeJS.ErrnoException): string => {
    const cause = goNetError(err, address.host, address.port);
    return err.syscall === 'connect' ? connectFailure(target, port, cause) : forwardError(target, port, cause);
  };
  return { socket, describeError };
}

// ---------------------------------------------------------------------------------------------
// WebSocket channels (v4.channel.k8s.io, v4.base64.channel.k8s.io)

class ChannelSession {
  private readonly sockets: (net.Socket | undefined)[] = [];
  private readonly paused = new Set<net.Socket>();
  private readonly blocking = new Set<net.Socket>();
  private remaining: number;
  private unflushed = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly ports: number[],
    private readonly base64: boolean,
    private readonly target: PortForwardTarget,
  ) {
    this.remaining = ports.length;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.sockets.forEach((s) => s?.destroy()));
    ws.on('error', () => ws.terminate());
    ports.forEach((port, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port);
      this.send(2 * i, portBytes);
      this.send(2 * i + 1, portBytes);
    });
    ports.forEach((port, i) => this.forward(i, port));
  }

  private forward(index: number, port: number): void {
    const dial = dialTarget(this.target, port, false);
    if ('error' in dial) {
      this.send(2 * index + 1, Buffer.from(dial.error));
      this.portDone();
      return;
    }
    const { socket, describeError } = dial;
    this.sockets[index] = socket;
    socket.on('data', (chunk: Buffer) => {
      this.send(2 * index, chunk);
      if (this.unflushed > WS_HIGH_WATER) {
        socket.pause();
        this.paused.add(socket);
      }
    });
    socket.on('error', (err) => this.send(2 * index + 1, Buffer.from(describeError!(err))));
    socket.on('close', () => {
      this.sockets[index] = undefined;
      this.paused.delete(socket);
      this.unblock(socket);
      this.portDone();
    });
  }

  /** v4 cannot close a single channel, so (like kubelet) the WebSocket closes when every port is done. */
  private portDone(): void {
    this.remaining -= 1;
    if (this.remaining === 0) this.ws.close(1000);
  }

  private onMessage(raw: RawData, isBinary: boolean): void {
    const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (data.length === 0 || isBinary === this.base64) return;
    const channel = this.base64 ? data[0] - 0x30 : data[0];
    const payload = this.base64 ? Buffer.from(data.subarray(1).toString('latin1'), 'base64') : data.subarray(1);
    // Error channels are server-to-client only.
    if (channel % 2 !== 0 || channel / 2 >= this.ports.length) return;
    const socket = this.sockets[channel / 2];
    if (!socket || socket.destroyed || payload.length === 0) return;
    if (!socket.write(payload)) {
      this.blocking.add(socket);
      this.ws.pause();
      socket.once('drain', () => this.unblock(socket));
    }
  }

  private unblock(socket: net.Socket): void {
    if (this.blocking.delete(socket) && this.blocking.size === 0) this.ws.resume();
  }

  private send(channel: number, data: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const message = this.base64
      ? String.fromCharCode(0x30 + channel) + data.toString('base64')
      : Buffer.concat([Buffer.of(channel), data]);
    this.unflushed += message.length;
    this.ws.send(message, { binary: !this.base64 }, () => {
      this.unflushed -= message.length;
      if (this.unflushed < WS_LOW_WATER) this.resumeTargets();
    });
  }

  private resumeTargets(): void {
    for (const socket of this.paused) socket.resume();
    this.paused.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// SPDY/3.1 framing and header blocks

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const HEADERS = 8;
const FLAG_FIN = 0x01;
const RST_REFUSED_STREAM = 3;
const RST_CANCEL = 5;
const GOAWAY_PROTOCOL_ERROR = 1;
const MAX_FRAME_DATA = 0xffffff;

interface Frame {
  control: boolean;
  version: number; // control frames
  type: number; // control frames
  streamId: number; // data frames
  flags: number;
  payload: Buffer;
}

/** The SPDY/3 header compression dictionary (length-prefixed names, then a raw tail). */
export const SPDY_DICTIONARY: Buffer = (() => {
  const names = [
    'options',
    'head',
    'post',
    'put',
    'delete',
    'trace',
    'accept',
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'accept-ranges',
    'age',
    'allow',
    'authorization',
    'cache-control',
    'connection',
    'content-base',
    'content-encoding',
    'content-language',
    'content-length',
    'content-location',
    'content-md5',
    'content-range',
    'content-type',
    'date',
    'etag',
    'expect',
    'expires',
    'from',
    'host',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'last-modified',
    'location',
    'max-forwards',
    'pragma',
    'proxy-authenticate',
    'proxy-authorization',
    'range',
    'referer',
    'retry-after',
    'server',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'user-agent',
    'vary',
    'via',
    'warning',
    'www-authenticate',
    'method',
    'get',
    'status',
    '200 OK',
    'version',
    'HTTP/1.1',
    'url',
    'public',
    'set-cookie',
    'keep-alive',
    'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
    '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
    'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  return Buffer.concat([...names.map((n) => lengthPrefixed(Buffer.from(n))), Buffer.from(tail)]);
})();

function lengthPrefixed(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Splits the connection's byte stream into frames (8-byte header, 24-bit length). */
class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUIntBE(5, 3);
      if (this.buffered.length < 8 + length) break;
      const first = this.buffered.readUInt32BE(0);
      const control = (this.buffered[0] & 0x80) !== 0;
      frames.push({
        control,
        version: control ? (first >>> 16) & 0x7fff : 0,
        type: control ? first & 0xffff : 0,
        streamId: control ? 0 : first & 0x7fffffff,
        flags: this.buffered[4],
        payload: this.buffered.subarray(8, 8 + length),
      });
      this.buffered = this.buffered.subarray(8 + length);
    }
    return frames;
  }
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | 3, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(payload.length, 4);
  header[4] = flags;
  return Buffer.concat([header, payload]);
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header.writeUInt32BE(data.length, 4);
  header[4] = flags;
  return Buffer.concat([header, data]);
}

function uint32s(...values: number[]): Buffer {
  const buf = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => buf.writeUInt32BE(v >>> 0, 4 * i));
  return buf;
}

export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts = [uint32s(entries.length)];
  for (const [name, value] of entries)
    parts.push(lengthPrefixed(Buffer.from(name.toLowerCase())), lengthPrefixed(Buffer.from(value)));
  return Buffer.concat(parts);
}

/** Header names are lowercase on the wire; multiple values are NUL-separated (we keep them comma-joined). */
export function decodeHeaderBlock(block: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  let offset = 0;
  const take = (): Buffer => {
    if (offset + 4 > block.length) throw new Error('truncated header block');
    const length = block.readUInt32BE(offset);
    if (offset + 4 + length > block.length) throw new Error('truncated header block');
    offset += 4 + length;
    return block.subarray(offset - length, offset);
  };
  if (block.length < 4) throw new Error('truncated header block');
  const count = block.readUInt32BE(0);
  offset = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString('latin1').toLowerCase();
    headers.set(name, take().toString('latin1').split('\0').join(','));
  }
  return headers;
}

/**
 * Outgoing header blocks as *stored* (uncompressed) deflate blocks in one zlib stream that
 * announces the SPDY dictionary. That is valid input for the peer's single inflate context,
 * and, unlike Node's asynchronous deflate, lets a SYN_REPLY be written synchronously ahead of
 * the stream's DATA frames. Header blocks here are a few bytes, so compression buys nothing.
 */
export class HeaderCompressor {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32K window), FLG 0x20 (FDICT; 0x7820 % 31 == 0), then the dictionary id.
      parts.push(Buffer.of(0x78, 0x20), uint32s(adler32(SPDY_DICTIONARY)));
      this.started = true;
    }
    for (let offset = 0; offset < block.length; offset += 0xffff) {
      const chunk = block.subarray(offset, offset + 0xffff);
      const len = chunk.length;
      // BFINAL=0 BTYPE=00, padded to a byte; then LEN and its one's complement, little-endian.
      parts.push(Buffer.of(0x00, len & 0xff, len >> 8, ~len & 0xff, (~len >> 8) & 0xff), chunk);
    }
    // The empty stored block Z_SYNC_FLUSH ends with: Go's inflater hands out a block's bytes
    // only after reading the next block header, which must not be in the next frame.
    parts.push(Buffer.of(0x00, 0x00, 0x00, 0xff, 0xff));
    return Buffer.concat(parts);
  }
}

/** Incoming header blocks: one zlib context for the whole connection, flushed per block. */
export class HeaderDecompressor {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private output: Buffer[] = [];

  constructor(onError: (err: Error) => void) {
    this.inflate.on('error', onError);
    // Flowing, so a large block cannot stall the transform at its highWaterMark.
    this.inflate.on('data', (chunk: Buffer) => this.output.push(chunk));
  }

  /** Callers wait for each block before passing the next (the output is not tagged by block). */
  decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(this.output.splice(0))));
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// SPDY port-forward session (kubelet's httpStreamHandler semantics)

interface SpdyStream {
  id: number;
  kind: 'data' | 'error';
  pair: StreamPair;
  localClosed: boolean; // we sent FIN (or RST)
  remoteClosed: boolean; // the client sent FIN (or RST)
}

/** The error + data streams kubectl opens for one local connection, and its TCP connection. */
interface StreamPair {
  key: string;
  port: number;
  data?: SpdyStream;
  error?: SpdyStream;
  socket?: net.Socket;
  early: Buffer[]; // client data that arrived before the pair was complete
  errorMessage?: string;
  clientEnded: boolean;
  timer?: NodeJS.Timeout; // pair timeout, then linger
  lingering: boolean;
  finished: boolean;
}

class SpdySession {
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor: HeaderDecompressor;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly pairs = new Map<string, StreamPair>();
  private readonly pending: Frame[] = [];
  private readonly paused = new Set<net.Socket>(); // targets paused because `io` is congested
  private readonly blocking = new Set<net.Socket>(); // congested targets `io` is paused for
  private decompressing = false;
  private closed = false;
  private lastStreamId = 0;

  constructor(
    private readonly io: Duplex,
    private readonly target: PortForwardTarget,
    private readonly closeTransport: () => void,
  ) {
    this.decompressor = new HeaderDecompressor(() => this.protocolError());
    io.on('data', (chunk: Buffer) => this.feed(chunk));
    io.on('drain', () => this.resumeTargets());
    io.on('end', () => this.shutdown());
    io.on('close', () => this.shutdown());
    io.on('error', () => this.shutdown());
  }

  feed(chunk: Buffer): void {
    if (this.closed) return;
    this.pending.push(...this.reader.push(chunk));
    this.pump();
  }

  /** Frames are handled strictly in order; header blocks pause the line while they inflate. */
  private pump(): void {
    while (!this.decompressing && !this.closed && this.pending.length > 0) {
      const frame = this.pending.shift()!;
      const block = headerBlockOf(frame);
      if (block === undefined) {
        this.handle(frame, undefined);
        continue;
      }
      if (block === null) return this.protocolError();
      this.decompressing = true;
      void this.decompressor.decompress(block).then((raw) => {
        this.decompressing = false;
        if (this.closed) return;
        let headers: Map<string, string>;
        try {
          headers = decodeHeaderBlock(raw);
        } catch {
          return this.protocolError();
        }
        this.handle(frame, headers);
        this.pump();
      });
    }
  }

  private handle(frame: Frame, headers: Map<string, string> | undefined): void {
    if (!frame.control) return this.onData(frame);
    if (frame.version !== 3) return this.protocolError();
    const id = frame.payload.length >= 4 ? frame.payload.readUInt32BE(0) & 0x7fffffff : 0;
    switch (frame.type) {
      case SYN_STREAM:
        return this.onSynStream(id, frame.flags, headers!);
      case RST_STREAM:
        return this.onReset(id);
      case PING:
        // We never ping, so every PING is the client's and gets echoed.
        if (frame.payload.length === 4) this.send(controlFrame(PING, 0, frame.payload));
        return;
      case GOAWAY:
        return this.shutdown();
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: spdystream does no flow control, and neither do we.
        return;
    }
  }

  private onSynStream(id: number, flags: number, headers: Map<string, string>): void {
    if (id === 0 || id % 2 === 0 || id <= this.lastStreamId) return this.protocolError();
    this.lastStreamId = id;
    const kind = headers.get('streamtype');
    const port = parsePort(headers.get('port'));
    if ((kind !== 'data' && kind !== 'error') || port === undefined) return this.reset(id, RST_CANCEL);
    // Clients predating requestid pair error stream N with data stream N+2.
    const key = headers.get('requestid') ?? String(kind === 'error' ? id : id - 2);
    const pair = this.pairs.get(key) ?? this.newPair(key, port);
    if (pair[kind] || pair.port !== port || pair.finished) return this.reset(id, RST_REFUSED_STREAM);
    const stream: SpdyStream = { id, kind, pair, localClosed: false, remoteClosed: (flags & FLAG_FIN) !== 0 };
    this.streams.set(id, stream);
    pair[kind] = stream;
    this.send(
      controlFrame(SYN_REPLY, 0, Buffer.concat([uint32s(id), this.compressor.compress(encodeHeaderBlock({}))])),
    );
    if (pair.data && pair.error) this.startForward(pair);
  }

  private newPair(key: string, port: number): StreamPair {
    const pair: StreamPair = { key, port, early: [], clientEnded: false, lingering: false, finished: false };
    pair.timer = setTimeout(() => this.abandonPair(pair), PAIR_TIMEOUT_MS);
    pair.timer.unref();
    this.pairs.set(key, pair);
    return pair;
  }

  private abandonPair(pair: StreamPair): void {
    for (const stream of [pair.data, pair.error]) if (stream) this.reset(stream.id, RST_CANCEL);
    pair.finished = true;
    this.pairs.delete(pair.key);
  }

  private onData(frame: Frame): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream || stream.remoteClosed) return; // gone already: spdystream drops these too
    const { pair } = stream;
    if (stream.kind === 'data' && frame.payload.length > 0) this.toTarget(pair, frame.payload);
    if ((frame.flags & FLAG_FIN) === 0) return;
    stream.remoteClosed = true;
    if (stream.kind === 'data') this.clientEnded(pair);
    this.forgetIfClosed(stream);
  }

  private onReset(id: number): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.localClosed = stream.remoteClosed = true;
    this.streams.delete(id);
    this.finishPair(stream.pair);
  }

  private startForward(pair: StreamPair): void {
    clearTimeout(pair.timer);
    const dial = dialTarget(this.target, pair.port, true);
    if ('error' in dial) return this.finishPair(pair, dial.error);
    const { socket, describeError } = dial;
    pair.socket = socket;
    for (const chunk of pair.early.splice(0)) this.toTarget(pair, chunk);
    if (pair.clientEnded) this.clientEnded(pair);
    socket.on('data', (chunk: Buffer) => this.fromTarget(pair, socket, chunk));
    socket.on('end', () => this.targetEnded(pair));
    socket.on('error', (err) => (pair.errorMessage ??= describeError!(err)));
    socket.on('close', () => {
      this.paused.delete(socket);
      this.unblock(socket);
      this.finishPair(pair);
    });
  }

  private toTarget(pair: StreamPair, chunk: Buffer): void {
    const { socket } = pair;
    if (!socket) {
      pair.early.push(chunk);
      return;
    }
    if (socket.destroyed || socket.writableEnded) return;
    if (!socket.write(chunk)) {
      // No SPDY flow control with spdystream: back-pressure the whole connection, as it would.
      this.blocking.add(socket);
      this.io.pause();
      socket.once('drain', () => this.unblock(socket));
    }
  }

  private unblock(socket: net.Socket): void {
    if (this.blocking.delete(socket) && this.blocking.size === 0 && !this.closed) this.io.resume();
  }

  private fromTarget(pair: StreamPair, socket: net.Socket, chunk: Buffer): void {
    const stream = pair.data!;
    if (stream.localClosed) return;
    let congested = false;
    for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_DATA) {
      congested = !this.send(dataFrame(stream.id, 0, chunk.subarray(offset, offset + MAX_FRAME_DATA))) || congested;
    }
    if (congested) {
      socket.pause();
      this.paused.add(socket);
    }
  }

  private resumeTargets(): void {
    for (const socket of this.paused) socket.resume();
    this.paused.clear();
  }

  /** Target sent EOF: pass it on as FIN and give the client LINGER_MS to finish its side. */
  private targetEnded(pair: StreamPair): void {
    if (pair.data) this.closeLocal(pair.data);
    this.linger(pair);
  }

  /** Client sent FIN on the data stream: half-close the target connection. */
  private clientEnded(pair: StreamPair): void {
    pair.clientEnded = true;
    if (!pair.socket) return; // startForward ends it
    pair.socket.end();
    this.linger(pair);
  }

  private linger(pair: StreamPair): void {
    if (pair.finished || pair.lingering) return;
    pair.lingering = true;
    pair.timer = setTimeout(() => pair.socket?.destroy(), LINGER_MS);
    pair.timer.unref();
  }

  /** Like kubelet's portForward(): report any error, then close error stream and data stream. */
  private finishPair(pair: StreamPair, error?: string): void {
    if (pair.finished) return;
    pair.finished = true;
    clearTimeout(pair.timer);
    pair.socket?.destroy();
    this.pairs.delete(pair.key);
    const message = error ?? pair.errorMessage;
    if (pair.error) {
      if (message && !pair.error.localClosed) this.send(dataFrame(pair.error.id, 0, Buffer.from(message)));
      this.closeLocal(pair.error);
    }
    if (pair.data) this.closeLocal(pair.data);
  }

  private closeLocal(stream: SpdyStream): void {
    if (!stream.localClosed) {
      stream.localClosed = true;
      this.send(dataFrame(stream.id, FLAG_FIN, Buffer.alloc(0)));
    }
    this.forgetIfClosed(stream);
  }

  private forgetIfClosed(stream: SpdyStream): void {
    if (stream.localClosed && stream.remoteClosed) this.streams.delete(stream.id);
  }

  private reset(id: number, status: number): void {
    this.streams.delete(id);
    this.send(controlFrame(RST_STREAM, 0, uint32s(id, status)));
  }

  private send(frame: Buffer): boolean {
    if (this.closed || !this.io.writable) return true;
    return this.io.write(frame);
  }

  private protocolError(): void {
    if (this.closed) return;
    this.send(controlFrame(GOAWAY, 0, uint32s(this.lastStreamId, GOAWAY_PROTOCOL_ERROR)));
    this.shutdown();
  }

  /** Connection gone (or given up): every target connection goes with it. */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pair of this.pairs.values()) {
      clearTimeout(pair.timer);
      pair.finished = true;
      pair.socket?.destroy();
    }
    this.pairs.clear();
    this.streams.clear();
    this.pending.length = 0;
    this.paused.clear();
    this.blocking.clear();
    this.decompressor.close();
    this.closeTransport();
  }
}

/** The compressed header block of a frame that carries one; null when malformed. */
function headerBlockOf(frame: Frame): Buffer | null | undefined {
  if (!frame.control) return undefined;
  const offset = frame.type === SYN_STREAM ? 10 : frame.type === SYN_REPLY || frame.type === HEADERS ? 4 : -1;
  if (offset < 0) return undefined;
  return frame.payload.length >= offset ? frame.payload.subarray(offset) : null;
}

function serveTunnel(ws: WebSocket, target: PortForwardTarget): void {
  // Binary messages carry the SPDY byte stream; boundaries mean nothing (client-go's TunnelingConnection).
  const io = createWebSocketStream(ws);
  new SpdySession(io, target, () => {
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    io.destroy();
  });
}
