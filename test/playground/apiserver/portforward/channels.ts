// The WebSocket channel protocols `v4.channel.k8s.io` / `v4.base64.channel.k8s.io` (client-node's
// PortForward): channel 2i is data and 2i+1 errors for the i-th port; one TCP connection per port.
import type net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { dialTarget, type PortForwardTarget } from './dial.js';

/** Unflushed WebSocket bytes above which target sockets are paused (and resumed below LOW). */
const WS_HIGH_WATER = 1 << 20;
const WS_LOW_WATER = 1 << 18;

export class ChannelSession {
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
