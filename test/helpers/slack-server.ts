// A local HTTP server that plays Slack (webhook and chat.postMessage), scripted per test. Bodies
// are read as Slack reads them: JSON (webhooks), or form-encoded with JSON-valued fields (the Web
// API as @slack/web-api sends it).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface SlackServer {
  url: string;
  calls: SlackCall[];
  /** Responses served in order; the last one repeats. */
  script: { status: number; body?: string; headers?: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startSlackServer(): Promise<SlackServer> {
  const calls: SlackCall[] = [];
  const state: SlackServer = { url: '', calls, script: [{ status: 200, body: 'ok' }], close: async () => {} };
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', headers: req.headers, body: parseBody(data, req.headers['content-type']) });
      const r = state.script[Math.min(calls.length - 1, state.script.length - 1)];
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

function parseBody(data: string, contentType: string | undefined): Record<string, unknown> {
  if (!data) return {};
  if (!contentType?.startsWith('application/x-www-form-urlencoded')) return JSON.parse(data);
  const body: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(data)) body[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
  return body;
}
