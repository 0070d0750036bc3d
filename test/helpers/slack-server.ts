// A local HTTP server that plays Slack (webhook and chat.postMessage), scripted per test.
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
      calls.push({ path: req.url ?? '', headers: req.headers, body: data ? JSON.parse(data) : {} });
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
