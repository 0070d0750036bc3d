// A local TCP port that forwards to a pod port through the API server (pods/portforward over
// WebSocket), so runners outside the cluster reach Postgres the way `kubectl port-forward` does.
import { KubeConfig, PortForward } from '@kubernetes/client-node';
import net from 'node:net';

export interface Forward {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function forwardPodPort(kc: KubeConfig, namespace: string, pod: string, podPort: number): Promise<Forward> {
  const pf = new PortForward(kc, true);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    pf.portForward(namespace, pod, [podPort], socket, null, socket).then(
      (ws) => {
        const close = () => (typeof ws === 'function' ? ws() : ws)?.close();
        socket.on('close', close);
      },
      () => socket.destroy(),
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
