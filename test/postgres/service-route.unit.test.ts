// Direct mode's wait for the -rw Service (actions/lib/postgres/service-route.ts), against a fake
// PostgreSQL "behind a Service": connections are reset while the Service routes nowhere, then answered
// by a server that says whether it is in recovery (protocol 3.0: trust auth, one simple query).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForServiceRoute } from '../../actions/lib/postgres/service-route.js';

const msg = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const int32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const int16 = (n: number) => Buffer.from([(n >>> 8) & 255, n & 255]);
const READY = msg('Z', Buffer.from('I'));

/** One answer to `SELECT pg_is_in_recovery() AS standby`: a bool row. */
function row(standby: boolean): Buffer {
  const field = Buffer.concat([cstr('standby'), int32(0), int16(0), int32(16), int16(1), int32(-1), int16(0)]);
  const value = Buffer.from(standby ? 't' : 'f');
  return Buffer.concat([
    msg('T', Buffer.concat([int16(1), field])),
    msg('D', Buffer.concat([int16(1), int32(value.length), value])),
    msg('C', cstr('SELECT 1')),
    READY,
  ]);
}

type Behaviour = 'reset' | 'primary' | 'standby' | 'auth-error' | 'not-yet' | 'silent';
let server: net.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A fake server whose behaviour a test switches; returns its port. */
async function fakeService(behaviour: () => Behaviour): Promise<number> {
  server = net.createServer((s) => {
    const b = behaviour();
    if (b === 'reset') return void s.resetAndDestroy();
    s.on('error', () => {});
    let started = false;
    s.on('data', (d) => {
      if (!started) {
        started = true; // the startup message
        if (b === 'auth-error')
          return void s.end(
            msg('E', Buffer.concat([cstr('SFATAL'), cstr('C28P01'), cstr('Mpassword failed'), cstr('')])),
          );
        if (b === 'not-yet') {
          // A standby before its consistent point (PostgreSQL 14+): 57P03 with a message no other state uses.
          const m = 'Mthe database system is not yet accepting connections';
          return void s.end(msg('E', Buffer.concat([cstr('SFATAL'), cstr('C57P03'), cstr(m), cstr('')])));
        }
        return void s.write(Buffer.concat([msg('R', int32(0)), READY]));
      }
      if (d[0] === 0x51 && b !== 'silent') s.write(row(b === 'standby')); // 'Q'
      if (d[0] === 0x58) s.end(); // 'X'
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server!.address() as net.AddressInfo).port;
}
const conn = (port: number) => ({ host: '127.0.0.1', port, user: 'u', password: 'p', database: 'app' });
const target = { namespace: 'ns', service: 'db-rw', pod: 'db-1' };

describe('direct mode waits for the -rw Service to route to the primary', () => {
  it('retries while connections are reset, and returns once a primary answers', async () => {
    const routedAt = Date.now() + 600;
    const port = await fakeService(() => (Date.now() < routedAt ? 'reset' : 'primary'));
    await waitForServiceRoute(conn(port), target, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(routedAt);
  });

  it('a standby behind the Service (a role label not switched yet) is not the primary: bounded, with the reason', async () => {
    const port = await fakeService(() => 'standby');
    const started = Date.now();
    await expect(waitForServiceRoute(conn(port), target, 1_500)).rejects.toThrow(
      /Service ns\/db-rw .* did not reach the ready primary db-1 within 2 s \(last: it routed to a standby/,
    );
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('a port nothing routes to: ECONNREFUSED until the bound, then one error naming the Service and what to check', async () => {
    const port = await fakeService(() => 'primary');
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await expect(waitForServiceRoute(conn(port), target, 1_000)).rejects.toThrow(
      /last: .*ECONNREFUSED.*kubectl get endpointslices -n ns -l kubernetes.io\/service-name=db-rw.*connection-mode port-forward/s,
    );
  });

  it('a server that cannot take connections yet (57P03, whatever its message) is waited for', async () => {
    const routedAt = Date.now() + 600;
    const port = await fakeService(() => (Date.now() < routedAt ? 'not-yet' : 'primary'));
    await waitForServiceRoute(conn(port), target, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(routedAt);
  });

  it('a server that never answers is not a route, and the wait keeps to its bound', async () => {
    const port = await fakeService(() => 'silent');
    const started = Date.now();
    await expect(waitForServiceRoute(conn(port), target, 1_500)).rejects.toThrow(/did not reach the ready primary/);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("a server's own error (wrong password) proves the route: no wait, the session reports it", async () => {
    const port = await fakeService(() => 'auth-error');
    const started = Date.now();
    await waitForServiceRoute(conn(port), target, 10_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
