// A stand-in API server for unit tests: a plain http.Server the test answers itself, and a
// KubeConfig pointing at it (client-node refuses http:// unless skipTLSVerify is set).
import type http from 'node:http';
import type net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** Listens on a free local port and returns a KubeConfig for it. */
export async function listenLocalApi(server: http.Server): Promise<KubeConfig> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}
