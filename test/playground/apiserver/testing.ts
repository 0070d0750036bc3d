// Test helpers for the API server: a started server in a temp dir and a tiny JSON client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServerHandle, type ApiServerOptions } from './server.js';
import { waitFor } from '../../helpers/wait.js';

export interface TestServer extends ApiServerHandle {
  dir: string;
  req(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function startTestServer(opts: Partial<ApiServerOptions> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'apiserver-test-'));
  const h = await startApiServer({ dataDir: dir, ...opts });
  const stop = h.stop;
  return Object.assign(h, {
    dir,
    async req(method: string, path: string, body?: unknown, contentType = 'application/json') {
      const res = await fetch(`${h.url}${path}`, {
        method,
        // The kubeconfig's admin token: with rbac on, requests are the cluster admin's.
        headers: {
          Authorization: 'Bearer playground-token',
          ...(body === undefined ? {} : { 'Content-Type': contentType }),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // text bodies (logs)
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Reads a watch stream's events until `until` returns true or the timeout passes. */
export async function collectWatch(url: string, until: (events: any[]) => boolean, timeoutMs = 5000): Promise<any[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const events: any[] = [];
  try {
    const res = await fetch(url, { signal: ac.signal });
    const reader = res.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      if (until(events)) break;
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

export function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  return waitFor('condition', fn as () => Promise<T | undefined | false>, timeoutMs, 25);
}
