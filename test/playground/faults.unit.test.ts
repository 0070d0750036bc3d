// Fault injection on the API server (every kind), the request log, and the /playground
// admin endpoints a detached playground exposes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectWatch, startTestServer, type TestServer } from './apiserver/testing.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});
beforeEach(() => {
  s.faults.clear();
  s.requestLog.clear();
});

const CM = '/api/v1/namespaces/default/configmaps';
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

describe('API faults', () => {
  it('status 500 for the first N matching requests, then normal service', async () => {
    s.faults.add({ method: 'POST', path: '/configmaps$', status: 500, times: 2 });
    const a = await s.req('POST', CM, cm('f1'));
    expect(a.status).toBe(500);
    expect(a.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500 });
    expect((await s.req('POST', CM, cm('f1'))).status).toBe(500);
    expect((await s.req('GET', CM)).status).toBe(200); // other methods unaffected
    expect((await s.req('POST', CM, cm('f1'))).status).toBe(201);
  });

  it('429 carries Retry-After; 409 Conflict; query regex', async () => {
    s.faults.add({ path: '/configmaps/f1$', status: 429, retryAfterSeconds: 3 });
    const r = await s.req('GET', `${CM}/f1`);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('3');
    expect(r.body.reason).toBe('TooManyRequests');
    s.faults.add({ method: 'PATCH', path: '/configmaps/', query: 'fieldManager=flaky', status: 409 });
    expect(
      (await s.req('PATCH', `${CM}/f1?fieldManager=other`, { data: { a: 'b' } }, 'application/merge-patch+json'))
        .status,
    ).toBe(200);
    const c = await s.req('PATCH', `${CM}/f1?fieldManager=flaky`, { data: { a: 'c' } }, 'application/merge-patch+json');
    expect(c.body).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('delayMs slows a request that then succeeds; Infinity applies to every request', async () => {
    s.faults.add({ path: '/configmaps$', method: 'GET', delayMs: 300, times: Infinity });
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      expect((await s.req('GET', CM)).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    }
  });

  it('hang never answers: the client times out', async () => {
    s.faults.add({ path: '/configmaps$', method: 'GET', hang: true });
    await expect(fetch(`${s.url}${CM}`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect((await s.req('GET', CM)).status).toBe(200);
  });

  it('dropWatch sends headers and events, then kills the stream; plain GETs are unaffected', async () => {
    await s.req('POST', CM, cm('dw'));
    s.faults.add({ path: '/configmaps$', dropWatch: true, dropAfterMs: 200 });
    expect((await s.req('GET', CM)).status).toBe(200);
    const t0 = Date.now();
    const res = await fetch(`${s.url}${CM}?watch=true`);
    expect(res.status).toBe(200);
    const text = await res.text().catch((e: Error) => `error:${e.message}`);
    expect(Date.now() - t0).toBeLessThan(2000);
    // The stream ended abnormally after the initial events.
    expect(text.includes('"ADDED"') || text.startsWith('error:')).toBe(true);
    // The next watch is healthy: it stays open past dropAfterMs.
    const events = await collectWatch(`${s.url}${CM}?watch=true&fieldSelector=metadata.name%3Ddw`, () => false, 600);
    expect(events.map((e) => e.type)).toEqual(['ADDED']);
  });

  it('the request log records method, path, query, status, user agent and watch flag', async () => {
    await s.req('POST', CM, cm('log1'));
    await s.req('PATCH', `${CM}/log1?fieldManager=me`, { data: { x: '1' } }, 'application/merge-patch+json');
    await s.req('GET', `${CM}/nope`);
    await collectWatch(`${s.url}${CM}?watch=1&timeoutSeconds=1`, () => true, 500);
    const entries = s.requestLog.entries();
    const writes = entries.filter((e) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(e.method));
    expect(writes.map((e) => `${e.method} ${e.status}`)).toEqual(['POST 201', 'PATCH 200']);
    expect(writes[1].query).toBe('fieldManager=me');
    expect(entries.find((e) => e.path.endsWith('/nope'))?.status).toBe(404);
    expect(entries.find((e) => e.watch)).toMatchObject({ method: 'GET', path: CM, status: 200 });
    expect(entries[0].userAgent).toBeTruthy();
  });
});

describe('admin endpoints', () => {
  it('POST/GET/DELETE /playground/faults and GET/DELETE /playground/requests', async () => {
    const add = await fetch(`${s.url}/playground/faults`, {
      method: 'POST',
      body: JSON.stringify({ method: 'GET', path: '^/api/v1/namespaces$', status: 503, times: 'Infinity' }),
    });
    expect(add.status).toBe(201);
    expect(await (await fetch(`${s.url}/playground/faults`)).json()).toEqual([
      expect.objectContaining({ status: 503, times: 'Infinity' }),
    ]);
    expect((await s.req('GET', '/api/v1/namespaces')).status).toBe(503);
    expect((await s.req('GET', '/api/v1/namespaces')).status).toBe(503);
    await fetch(`${s.url}/playground/faults`, { method: 'DELETE' });
    expect((await s.req('GET', '/api/v1/namespaces')).status).toBe(200);
    const log = (await (await fetch(`${s.url}/playground/requests`)).json()) as { path: string }[];
    expect(log.filter((e) => e.path === '/api/v1/namespaces')).toHaveLength(3);
    expect(log.some((e) => e.path.startsWith('/playground'))).toBe(false);
    await fetch(`${s.url}/playground/requests`, { method: 'DELETE' });
    expect(s.requestLog.entries()).toEqual([]);
    expect((await fetch(`${s.url}/playground/faults`, { method: 'POST', body: '{"status":500}' })).status).toBe(400);
  });

  it('GET/PUT /playground/operator edits the attached operator settings (regexes as strings)', async () => {
    expect((await fetch(`${s.url}/playground/operator`)).status).toBe(404);
    const settings: { version: string; stallRecovery?: RegExp; failRecovery?: { cluster: RegExp; message: string } } = {
      version: '1.27.0',
    };
    s.attachOperatorSettings(settings);
    const put = await fetch(`${s.url}/playground/operator`, {
      method: 'PUT',
      body: JSON.stringify({
        version: '1.28.4',
        stallRecovery: '^slow-',
        failRecovery: { cluster: 'bad', message: 'boom' },
      }),
    });
    expect(await put.json()).toEqual({
      version: '1.28.4',
      stallRecovery: '^slow-',
      failRecovery: { cluster: 'bad', message: 'boom' },
    });
    expect(settings.stallRecovery?.test('slow-restore')).toBe(true);
    expect(settings.failRecovery?.cluster.test('bad-one')).toBe(true);
    await fetch(`${s.url}/playground/operator`, { method: 'PUT', body: JSON.stringify({ stallRecovery: null }) });
    expect(settings.stallRecovery).toBeUndefined();
  });
});
