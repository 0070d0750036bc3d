// The SPDY port-forward byte stream tunnelled in binary WebSocket messages, subprotocol
// `SPDY/3.1+portforward.k8s.io` (kubectl's default since 1.31).
import { WebSocket, createWebSocketStream } from 'ws';
import type { PortForwardTarget } from './dial.js';
import { SpdySession } from './spdy.js';

export function serveTunnel(ws: WebSocket, target: PortForwardTarget): void {
  // Binary messages carry the SPDY byte stream; boundaries mean nothing (client-go's TunnelingConnection).
  const io = createWebSocketStream(ws);
  new SpdySession(io, target, () => {
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    io.destroy();
  });
}
