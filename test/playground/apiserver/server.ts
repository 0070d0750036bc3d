// The emulated Kubernetes API server: HTTPS (tls.ts) or plain HTTP on loopback, routing discovery, OpenAPI,
// resource REST paths, pods/log and pods/portforward, the /playground admin endpoints,
// fault injection and the request log. Built-in controllers run in-process on the store.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
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
import { encodeFields } from './protobuf.js';
import { handlePortForwardUpgrade } from './portforward.js';
import { servePodLog } from './podlog.js';
import { handleResource, isWatch, type ResourceRequest } from './resources.js';
import { MemStore } from './store.js';
import { makeServingCert } from './tls.js';
import type { Timing } from '../timing.js';

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
  /** Scale of the Job controller's pod-failure back-off (jobs.ts default: 1/20 of Kubernetes' 10 s). */
  jobTimeScale?: number;
  /** When the built-in controllers act (timing.ts); default: fixed delays. */
  timing?: Timing;
  /** Serve HTTPS with a throwaway CA (handle.ca) as a real API server does; off: plain HTTP for in-process tests. */
  tls?: boolean;
}

export interface ApiServerHandle {
  url: string;
  port: number;
  /** PEM of the CA that signed the serving certificate (with tls). */
  ca?: string;
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

/** What the request handlers share: one server's store, network, logs and bookkeeping. */
interface ServerState {
  opts: ApiServerOptions;
  store: MemStore;
  network: PodNetwork;
  logs: PodLogs;
  faults: Faults;
  requestLog: RequestLog;
  applied: Map<string, unknown>;
  closers: Set<() => void>;
  authz?: Authorizer;
  address: string;
  operatorSettings?: OperatorSettings;
}

const NOT_FOUND = 'the server could not find the requested resource';

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServerHandle> {
  const store = opts.store ?? new MemStore({ historyLimit: opts.historyLimit });
  const logs = opts.logs ?? new MemPodLogs();
  const state: ServerState = {
    opts,
    store,
    network: opts.network ?? new MemPodNetwork(),
    logs,
    faults: new Faults(),
    requestLog: new RequestLog(),
    applied: new Map(),
    closers: new Set(),
    authz: opts.rbac ? new Authorizer(store) : undefined,
    address: '127.0.0.1:0',
  };
  // dataDir, volumeDeleteDelayMs and timing as given.
  const controllers = startControllers(store, { ...opts, logs, network: state.network, timeScale: opts.jobTimeScale });
  if (state.authz) seedBootstrapPolicy(store);
  const sockets = new Set<Socket | Duplex>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(state, req, res).catch((e) => {
      if (!(e instanceof ApiError)) console.error('playground apiserver:', e);
      sendError(res, e);
    });
  };
  const tls = opts.tls ? makeServingCert(join(opts.dataDir, 'pki'), opts.host) : undefined;
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createHttpServer(onRequest);
  server.keepAliveTimeout = 5000;
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handleUpgrade(state, req, socket, head).catch((e) => writeRawError(socket, e));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  state.address = `${opts.host ?? '127.0.0.1'}:${port}`;
  const stop = async () => {
    controllers.stop();
    for (const c of state.closers) c();
    state.closers.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
    });
  };
  return handleOf(state, port, controllers, stop, tls?.ca);
}

function handleOf(
  state: ServerState,
  port: number,
  controllers: Controllers,
  stop: () => Promise<void>,
  ca?: string,
): ApiServerHandle {
  const { store, network, logs, faults, requestLog, authz } = state;
  return {
    url: `${ca ? 'https' : 'http'}://${state.address}`,
    port,
    ca,
    store,
    network,
    logs,
    faults,
    requestLog,
    controllers,
    attachOperatorSettings(s) {
      state.operatorSettings = s;
    },
    mintToken(namespace, serviceAccount, expirationSeconds) {
      if (!authz) throw new Error('mintToken needs an API server started with rbac: true');
      return authz.issueToken(namespace, serviceAccount, expirationSeconds).token;
    },
    stop,
  };
}

async function route(
  state: ServerState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  user: UserInfo,
  fault?: FaultRule,
): Promise<void> {
  const { store, logs } = state;
  const method = req.method ?? 'GET';
  if (method === 'POST' && /\/(token|selfsubjectaccessreviews|selfsubjectreviews)$/.test(path)) {
    const answer = authApiAnswer(state.authz, user, method, path, parseBody(await readBody(req), mediaType(req)));
    if (answer) return sendJson(res, 201, answer);
  }
  if (method === 'GET' && serveDiscovery(state, req, res, path)) return;
  const r = parseResourcePath(store, path, query);
  if (!r) throw new ApiError(404, 'NotFound', NOT_FOUND);
  if (r.rt.kind === 'Pod' && r.rt.group === '' && r.subresource === 'log' && method === 'GET') {
    return servePodLog(store, logs, r.namespace!, r.name!, query, req, res);
  }
  if (r.rt.kind === 'Pod' && r.subresource === 'portforward')
    throw new ApiError(400, 'BadRequest', 'Upgrade request required');
  if (r.rt.kind === 'Pod' && (r.subresource === 'exec' || r.subresource === 'attach')) {
    throw new ApiError(400, 'BadRequest', `pods/${r.subresource} is not supported by the playground`);
  }
  const ctx = {
    store,
    applied: state.applied,
    bookmarkIntervalMs: state.opts.bookmarkIntervalMs ?? 2000,
    onClose: (fn: () => void) => state.closers.add(fn),
  };
  await handleResource(ctx, r, req, res, fault?.dropWatch ? (fault.dropAfterMs ?? 0) : undefined);
}

/** Version, health, discovery and OpenAPI documents; false when `path` is none of them. */
function serveDiscovery(state: ServerState, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const types = state.store.types();
  if (path === '/version' || path === '/version/') return (sendJson(res, 200, versionInfo()), true);
  if (['/healthz', '/livez', '/readyz'].includes(path)) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    return (res.end('ok'), true);
  }
  if (path === '/api') return (sendJson(res, 200, apiVersions(state.address)), true);
  if (path === '/apis') return (sendJson(res, 200, apiGroupList(types)), true);
  if (path === '/openapi/v3') return (sendJson(res, 200, openapiRoot(types)), true);
  if (path === '/openapi/v2') return (serveOpenapiV2(req, res), true);
  const found = (doc: unknown, headers?: Record<string, string>) => {
    if (!doc) throw new ApiError(404, 'NotFound', NOT_FOUND);
    sendJson(res, 200, doc, headers);
    return true;
  };
  const oa = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (oa)
    return found(openapiGroupVersion(types, oa[2] ?? '', oa[1] ?? oa[3]), { 'Cache-Control': 'public, immutable' });
  const gvm = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(path);
  if (gvm) return found(resourceList(types, gvm[2] ?? '', gvm[1] ?? gvm[3]));
  const gm = /^\/apis\/([^/]+)\/?$/.exec(path);
  if (gm) return found(apiGroupDoc(types, gm[1]));
  return false;
}

/** What kubectl asks /openapi/v2 for (client-side validation of `kind: List`): the `@` form is deprecated, and
 *  is answered with the `.v1.0` form a Go mime parser accepts (kube-openapi pkg/handler/handler.go). */
const OPENAPI_V2_PROTO = /application\/com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf/;

/** OpenAPI v2 with no definitions, as JSON or as gnostic's OpenAPIv2 Document protobuf (CONFORMANCE.md, kubectl). */
function serveOpenapiV2(req: IncomingMessage, res: ServerResponse): void {
  const { gitVersion } = versionInfo();
  if (acceptsJson(req))
    return sendJson(res, 200, {
      swagger: '2.0',
      info: { title: 'Kubernetes', version: gitVersion },
      paths: {},
      definitions: {},
    });
  const info = encodeFields([
    [1, 'Kubernetes'],
    [2, gitVersion],
  ]);
  // swagger = 1, info = 2, paths = 8 (empty), definitions = 9 (empty): kubectl finds no schema and skips the kind.
  const body = encodeFields([
    [1, '2.0'],
    [2, info],
    [8, Buffer.alloc(0)],
    [9, Buffer.alloc(0)],
  ]);
  res.writeHead(200, {
    'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
    'Content-Length': body.length,
  });
  res.end(body);
}

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { faults, requestLog, authz } = state;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const query = url.searchParams;
  if (path.startsWith('/playground/')) {
    return handleAdmin(req, res, path, { faults, requestLog, operatorSettings: () => state.operatorSettings });
  }
  const method = req.method ?? 'GET';
  const watch = isWatch(query);
  const search = url.search.replace(/^\?/, '');
  const entry = requestLog.start({ method, path, query: search, userAgent: req.headers['user-agent'], watch });
  res.on('finish', () => (entry.status = res.statusCode));
  res.on('close', () => (entry.status ||= res.statusCode));
  const fault = faults.take(method, path, search, watch);
  if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
  if (fault?.hang) return; // never answered; the socket is closed on stop()
  if (fault?.status) return sendFault(res, fault.status, fault, `${method} ${path}`);
  const user = authz?.authenticate(req) ?? { name: 'kubernetes-admin', groups: ['system:masters'] };
  authz?.check(requestAttributes(user, method, path, query));
  if (!acceptsJson(req) && !(path === '/openapi/v2' && OPENAPI_V2_PROTO.test(req.headers.accept ?? ''))) {
    throw new ApiError(
      406,
      'NotAcceptable',
      `only application/json is served by the playground (asked for ${req.headers.accept})`,
    );
  }
  await route(state, req, res, path, query, user, fault);
  if (res.headersSent) entry.status = res.statusCode; // streams (watch, log follow) are still open
}

function sendFault(res: ServerResponse, status: number, fault: FaultRule, what: string): void {
  const headers: Record<string, string> = {};
  if (status === 429) headers['Retry-After'] = String(fault.retryAfterSeconds ?? 1);
  sendJson(res, status, statusBody(status, reasonFor(status), `injected fault: ${status} for ${what}`), headers);
}

async function handleUpgrade(state: ServerState, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const { authz, store, network } = state;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const entry = state.requestLog.start({
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.search.replace(/^\?/, ''),
    userAgent: req.headers['user-agent'],
    watch: false,
  });
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
  if (!m) throw new ApiError(404, 'NotFound', NOT_FOUND);
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
