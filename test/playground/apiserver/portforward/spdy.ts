// The SPDY/3.1 port-forward session (kubectl with KUBECTL_PORT_FORWARD_WEBSOCKETS=false, and inside
// the WebSocket tunnel): kubelet's httpStreamHandler semantics; per forwarded connection the client
// opens an error stream and a data stream sharing a requestid.
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { dialTarget, parsePort, type PortForwardTarget } from './dial.js';
import {
  FLAG_FIN,
  FrameReader,
  GOAWAY,
  GOAWAY_PROTOCOL_ERROR,
  HEADERS,
  HeaderCompressor,
  HeaderDecompressor,
  MAX_FRAME_DATA,
  PING,
  RST_CANCEL,
  RST_REFUSED_STREAM,
  RST_STREAM,
  SYN_REPLY,
  SYN_STREAM,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  uint32s,
  type Frame,
} from './spdy-frames.js';

/** containerd gives the second direction this long to finish once the first one has. */
export const LINGER_MS = 1000;
/** kubelet's streamCreationTimeout: how long a lone error or data stream waits for its partner. */
const PAIR_TIMEOUT_MS = 30_000;

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

export class SpdySession {
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
