// The emulated Kubernetes API server: plain HTTP on loopback, routing discovery, OpenAPI,
// resource REST paths, pods/log and pods/portforward, the /playground admin endpoints,
// fault injection and the request log. Built-in controllers run in-process on the store.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MemPodLogs } from '../logs.js';
import { MemPodNetwork } from '../network.js';
import {
  ApiError,
  type FaultRule,
  type OperatorSettings,
  type PodLogs,
  type PodNetwork,
  type RequestLogEntry,
} from '../types.js';
import { handleAdmin } from './admin.js';
import { authApiAnswer, Authorizer, requestAttributes, seedBootstrapPolicy, type UserInfo } from './authz.js';
import { startControllers, type Controllers } from './controllers/index.js';
import { apiGroupDoc, apiGroupList, apiVersions, resourceList, versionInfo } from './discovery.js';
import { Faults, RequestLog } from './faults.js';
import { acceptsJson, mediaType, parseBody, readBody, sendError, sendJson, statusBody } from './http.js';
import { openapiGroupVersion, openapiRoot } from './openapi.js';
import { handlePortForwardUpgrade } from './portforward.js';
import { servePodLog } from './podlog.js';
import { handleResource, isWatch, type ResourceRequest } from './resources.js';
import { MemStore } from './store.js';

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** Where dynamically provisioned volumes live (`<dataDir>/volumes/<pv>`). */
  dataDir: string;
  store?: MemStore;
  network?: PodNetwork;
  logs?: PodLogs;
  /** Watch history kept for resourceVersion replay (older -> 410 Gone). */
  historyLimit?: number;
  bookmarkIntervalMs?: number;
  /** Authenticate bearer tokens and authorize every request with RBAC (authz.ts); off: everything is allowed. */
  rbac?: boolean;
  /** How long the volume provisioner takes to delete a released Delete-policy PV (volumes.ts default: seconds). */
  volumeDeleteDelayMs?: number;
}

export interface ApiServerHandle {
  url: string;
  port: number;
  store: MemStore;
  network: PodNetwork;
  logs: PodLogs;
  faults: { add(rule: FaultRule): void; clear(): void; list(): FaultRule[] };
  requestLog: { entries(): RequestLogEntry[]; clear(): void };
  controllers: Controllers;
  /** Lets /playground/operator read and change the operator emulator's live settings. */
  attachOperatorSettings(settings: OperatorSettings): void;
  /** With rbac: a bound token for a ServiceAccount (what TokenRequest returns). */
  mintToken(namespace: string, serviceAccount: string, expirationSeconds?: number): string;
  stop(): Promise<void>;
}

/** Splits a resource URL path into type, namespace, name and subresource. */
function parseResourcePath(store: MemStore, path: string, query: URLSearchParams): ResourceRequest | undefined {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) [group, version, rest] = ['', segs[1], segs.slice(2)];
  else if (segs[0] === 'apis' && segs.length >= 4) [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  else return undefined;
  if (rest[0] === 'watch') {
    // Deprecated /watch/ prefix paths.
    rest = rest.slice(1);
    query.set('watch', 'true');
  }
  const gv = group ? `${group}/${version}` : version;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && store.typeOf(`${gv}/${rest[2]}`)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const rt = store.typeOf(`${gv}/${plural}`);
  if (!rt || extra.length) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (!rt.namespaced && namespace !== undefined)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (rt.namespaced && namespace === undefined && name !== undefined)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  return { rt, namespace, name, subresource, query };
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServerHandle> {
  const store = opts.store ?? new MemStore({ historyLimit: opts.historyLimit });
  const network = opts.network ?? new MemPodNetwork();
  const logs = opts.logs ?? new MemPodLogs();
  const faults = new Faults();
  const requestLog = new RequestLog();
  const applied = new Map<string, unknown>();
  const closers = new Set<() => void>();
  const sockets = new Set<Socket | Duplex>();
  let operatorSettings: OperatorSettings | undefined;
  let address = '127.0.0.1:0';

  const controllers = startControllers(store, {
    dataDir: opts.dataDir,
    logs,
    volumeDeleteDelayMs: opts.volumeDeleteDelayMs,
  });
  const authz = opts.rbac ? new Authorizer(store) : undefined;
  if (authz) seedBootstrapPolicy(store);

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
    user: UserInfo,
    fault?: FaultRule,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'POST' && (path.endsWith('/token') || path.endsWith('/selfsubjectaccessreviews'))) {
      const answer = authApiAnswer(authz, user, method, path, parseBody(await readBody(req), mediaType(req)));
      if (answer) return sendJson(res, 201, answer);
    }
    const types = store.types();
    if (method === 'GET') {
      if (path === '/version' || path === '/version/') return sendJson(res, 200, versionInfo());
      if (['/healthz', '/livez', '/readyz'].includes(path)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void res.end('ok');
      }
      if (path === '/api') return sendJson(res, 200, apiVersions(address));
      if (path === '/apis') return sendJson(res, 200, apiGroupList(types));
      if (path === '/openapi/v3') return sendJson(res, 200, openapiRoot(types));
      if (path === '/openapi/v2') {
        // kubectl asks for protobuf only; answering 406 makes it fall back to its compiled-in types.
        if (!acceptsJson(req))
          throw new ApiError(
            406,
            'NotAcceptable',
            'only application/json is served; the playground has no protobuf OpenAPI v2',
          );
        return sendJson(res, 200, {
          swagger: '2.0',
          info: { title: 'Kubernetes', version: versionInfo().gitVersion },
          paths: {},
          definitions: {},
        });
      }
      const oa = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
      if (oa) {
        const doc = openapiGroupVersion(types, oa[2] ?? '', oa[1] ?? oa[3]);
        if (!doc) throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
        return sendJson(res, 200, doc, { 'Cache-Control': 'public, immutable' });
      }
      const gvm = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(path);
      if (gvm) {
        const doc = resourceList(types, gvm[2] ?? '', gvm[1] ?? gvm[3]);
        if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return sendJson(res, 200, doc);
      }
      const gm = /^\/apis\/([^/]+)\/?$/.exec(path);
      if (gm) {
        const doc = apiGroupDoc(types, gm[1]);
        if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return sendJson(res, 200, doc);
      }
    }
    const r = parseResourcePath(store, path, query);
    if (!r) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (r.rt.kind === 'Pod' && r.rt.group === '' && r.subresource === 'log' && method === 'GET') {
      return servePodLog(store, logs, r.namespace!, r.name!, query, req, res);
    }
    if (r.rt.kind === 'Pod' && r.subresource === 'portforward')
      throw new ApiError(400, 'BadRequest', 'Upgrade request required');
    if (r.rt.kind === 'Pod' && (r.subresource === 'exec' || r.subresource === 'attach')) {
      throw new ApiError(400, 'BadRequest', `pods/${r.subresource} is not supported by the playground`);
    }
    await handleResource(
      { store, applied, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 2000, onClose: (fn) => closers.add(fn) },
      r,
      req,
      res,
      fault?.dropWatch ? (fault.dropAfterMs ?? 0) : undefined,
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const query = url.searchParams;
    if (path.startsWith('/playground/')) {
      return handleAdmin(req, res, path, { faults, requestLog, operatorSettings: () => operatorSettings });
    }
    const method = req.method ?? 'GET';
    const watch = isWatch(query);
    const entry = requestLog.start({
      method,
      path,
      query: url.search.replace(/^\?/, ''),
      userAgent: req.headers['user-agent'],
      watch,
    });
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => (entry.status ||= res.statusCode));
    const fault = faults.take(method, path, url.search.replace(/^\?/, ''), watch);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.hang) return; // never answered; the socket is closed on stop()
    if (fault?.status) {
      const headers: Record<string, string> = {};
      if (fault.status === 429) headers['Retry-After'] = String(fault.retryAfterSeconds ?? 1);
      return sendJson(
        res,
        fault.status,
        statusBody(fault.status, reasonFor(fault.status), `injected fault: ${fault.status} for ${method} ${path}`),
        headers,
      );
    }
    const user = authz?.authenticate(req) ?? { name: 'kubernetes-admin', groups: ['system:masters'] };
    authz?.check(requestAttributes(user, method, path, query));
    if (!acceptsJson(req)) {
      throw new ApiError(
        406,
        'NotAcceptable',
        `only application/json is served by the playground (asked for ${req.headers.accept})`,
      );
    }
    await route(req, res, path, query, user, fault);
    if (res.headersSent) entry.status = res.statusCode; // streams (watch, log follow) are still open
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!(e instanceof ApiError)) console.error('playground apiserver:', e);
      sendError(res, e);
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handleUpgrade(req, socket, head).catch((e) => {
      writeRawError(socket, e);
    });
  });

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry = requestLog.start({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      userAgent: req.headers['user-agent'],
      watch: false,
    });
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const [namespace, pod] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    if (authz) {
      // The WebSocket upgrade is a GET (verb get); like Kubernetes 1.35 (AuthorizePodWebsocketUpgradeCreatePermission) it also needs create.
      const a = requestAttributes(authz.authenticate(req), req.method ?? 'GET', url.pathname, url.searchParams);
      try {
        for (const verb of new Set([a.verb, 'create'])) authz.check({ ...a, verb });
      } catch (e) {
        entry.status = e instanceof ApiError ? e.code : 500;
        throw e;
      }
    }
    if (!store.get('v1/pods', namespace, pod)) {
      entry.status = 404;
      throw new ApiError(404, 'NotFound', `pods "${pod}" not found`, { name: pod, kind: 'pods' });
    }
    entry.status = 101;
    handlePortForwardUpgrade(req, socket, head, {
      namespace,
      pod,
      resolve: (port) => network.resolve(namespace, pod, port),
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `${opts.host ?? '127.0.0.1'}:${port}`;

  return {
    url: `http://${address}`,
    port,
    store,
    network,
    logs,
    faults,
    requestLog,
    controllers,
    attachOperatorSettings(s) {
      operatorSettings = s;
    },
    mintToken(namespace, serviceAccount, expirationSeconds) {
      if (!authz) throw new Error('mintToken needs an API server started with rbac: true');
      return authz.issueToken(namespace, serviceAccount, expirationSeconds).token;
    },
    async stop() {
      controllers.stop();
      for (const c of closers) c();
      closers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function reasonFor(code: number): string {
  return (
    (
      {
        400: 'BadRequest',
        401: 'Unauthorized',
        403: 'Forbidden',
        404: 'NotFound',
        405: 'MethodNotAllowed',
        409: 'Conflict',
        410: 'Expired',
        422: 'Invalid',
        429: 'TooManyRequests',
        500: 'InternalError',
        503: 'ServiceUnavailable',
        504: 'Timeout',
      } as Record<number, string>
    )[code] ?? 'Unknown'
  );
}

function writeRawError(socket: Duplex, e: unknown): void {
  if (socket.destroyed) return;
  const code = e instanceof ApiError ? e.code : 500;
  const body = JSON.stringify(
    e instanceof ApiError
      ? statusBody(e.code, e.reason, e.message, e.details)
      : statusBody(500, 'InternalError', String(e)),
  );
  socket.end(
    `HTTP/1.1 ${code} ${reasonFor(code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
