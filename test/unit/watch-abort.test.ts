// An abort that lands while watchUntil lists (actions/lib/kube/watch.ts) must not open a watch
// afterwards: the abort event has fired already, and a watch opened then stays open until the
// server ends it (timeoutSeconds=300), holding the process open. Found in addon-sync: a no-op sync
// of 100 apps finished its work in 17 s and exited 5 minutes later, held by 7 pod watches that
// waitHealthy's bootstrap-failure watcher opened after its abort (test/addons/noop.test.ts).
import http from 'node:http';
import type net from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchUntil } from '../../actions/lib/kube/watch.js';
import { listenLocalApi } from '../helpers/local-api.js';

const watches: string[] = [];
const held = new Set<net.Socket>();
// Watches are held open and silent, as a real API server holds one with no events.
const api = http.createServer((req, res) => {
  if (new URL(req.url ?? '/', 'http://x').searchParams.get('watch')) {
    watches.push(req.url ?? '');
    held.add(req.socket);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    return;
  }
  res.end('{}');
});
let kc: KubeConfig;

beforeAll(async () => {
  kc = await listenLocalApi(api);
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => api.close(r));
});

const target = { path: '/api/v1/namespaces/shop/pods', labelSelector: 'cnpg.io/cluster=orders-db' };

describe('watchUntil aborted', () => {
  it('during its list: rejects with the abort, and opens no watch', async () => {
    const stop = new AbortController();
    const list = async () => {
      stop.abort(new Error('wait finished'));
      return { items: [], resourceVersion: '7' };
    };
    const started = Date.now();
    const err = await watchUntil(kc, target, 'pods', () => undefined, {
      deadline: Date.now() + 600_000,
      signal: stop.signal,
      list,
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe('wait finished');
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 200)); // a watch request would have reached the server by now
    expect(watches).toEqual([]);
  }, 10_000);

  it('while watching: the open watch is closed', async () => {
    const stop = new AbortController();
    const before = watches.length;
    const waiting = watchUntil(kc, target, 'pods', () => undefined, {
      deadline: Date.now() + 600_000,
      signal: stop.signal,
      list: async () => ({ items: [], resourceVersion: '7' }),
    }).catch((e: Error) => e);
    await expect.poll(() => watches.length).toBe(before + 1);
    const socket = [...held].at(-1)!;
    const closed = new Promise((r) => socket.once('close', r));
    stop.abort(new Error('wait finished'));
    expect(((await waiting) as Error).message).toBe('wait finished');
    await closed;
  }, 10_000);
});
