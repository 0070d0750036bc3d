// The cluster's network as a pod inside it sees it, for a test process that runs a product with
// `connection-mode: direct`: `<service>.<namespace>.svc[.cluster.local]` resolves (cluster DNS) to a
// loopback address standing for the Service's ClusterIP, where a listener plays kube-proxy: every new
// connection goes to an endpoint the Service routes to at that moment (network.ts, set by the
// endpoints controller after its delay), and is reset when it routes nowhere (a real one is rejected).
// It patches the process's dns.lookup, so one playground per process joins it, and leave() undoes it.
import dns from 'node:dns';
import net from 'node:net';
import type { PodNetwork, Store } from './types.js';

const SERVICE_NAME = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?\.?$/;
type Lookup = typeof dns.lookup;

export interface ClusterNetwork {
  /** The ClusterIP a Service's name resolves to (its listeners started), or undefined without the Service. */
  serviceIP(namespace: string, service: string): Promise<string | undefined>;
  leave(): Promise<void>;
}

/** kube-proxy's part for one Service port: each connection piped to the routed endpoint of the moment. */
function proxy(network: PodNetwork, namespace: string, service: string, port: number): net.Server {
  return net.createServer((client) => {
    const target = network.resolveService(namespace, service, port);
    if (!target) return void client.resetAndDestroy();
    const upstream = net.connect(target.port, target.host);
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', () => client.resetAndDestroy()).on('close', end);
    client.pipe(upstream).pipe(client);
  });
}

export function joinClusterNetwork(pg: { store: Store; network: PodNetwork }): ClusterNetwork {
  const ips = new Map<string, Promise<string>>();
  const servers: net.Server[] = [];
  const listen = (s: net.Server, ip: string, port: number) =>
    new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, ip, () => resolve()));
  let last = 0;
  /** Listeners for each of the Service's ports on one loopback address no other process holds. */
  const start = async (namespace: string, service: string, ports: { port: number }[]) => {
    for (;;) {
      const n = ++last;
      const ip = `127.77.${Math.floor(n / 256) % 256}.${n % 256}`;
      const bound: net.Server[] = [];
      try {
        for (const { port } of ports) {
          bound.push(proxy(pg.network, namespace, service, port));
          await listen(bound[bound.length - 1], ip, port);
        }
        servers.push(...bound);
        return ip;
      } catch (err) {
        // Another test process joined its own cluster network on the machine (or something else listens there).
        await Promise.all(bound.map((b) => new Promise((r) => b.close(r))));
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || n >= 65_536) throw err;
      }
    }
  };
  const serviceIP = async (namespace: string, service: string) => {
    const svc = pg.store.get('v1/services', namespace, service);
    if (!svc) return undefined;
    const key = `${namespace}/${service}`;
    if (!ips.has(key)) ips.set(key, start(namespace, service, svc.spec?.ports ?? []));
    return ips.get(key);
  };
  const original: Lookup = dns.lookup;
  const lookup = (host: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...a: unknown[]) => void;
    const opts = (typeof options === 'object' && options) || {};
    const m = SERVICE_NAME.exec(host);
    if (!m) return (original as (...a: unknown[]) => void).call(dns, host, options, callback);
    serviceIP(m[2], m[1]).then(
      (ip) => {
        if (!ip)
          return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host }));
        if ((opts as { all?: boolean }).all) cb(null, [{ address: ip, family: 4 }]);
        else cb(null, ip, 4);
      },
      (err) => cb(err),
    );
  };
  dns.lookup = lookup as Lookup;
  return {
    serviceIP,
    async leave() {
      dns.lookup = original;
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
