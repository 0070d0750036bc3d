// REST verbs on resource paths: list/watch/create/deletecollection on collections,
// get/update/patch/delete on objects, and the status and scale subresources.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type KubeObject, type PropagationPolicy, type ResourceType } from '../types.js';
import { apiVersionOf, BUILTIN_TYPES, gvrKey } from './builtins.js';
import { mediaType, parseBody, readBody, sendJson } from './http.js';
import { applyPatch, jsonMergePatch, jsonPatch, strategicMergePatch } from './patch.js';
import type { MemStore } from './store.js';
import { serveWatch } from './watch.js';

export interface ResourceRequest {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
}

export interface ResourceContext {
  store: MemStore;
  /** Last configuration each field manager applied, per object uid (server-side apply). */
  applied: Map<string, unknown>;
  bookmarkIntervalMs: number;
  onClose: (fn: () => void) => void;
}

const isTrue = (v: string | null) => v === 'true' || v === '1';

export function isWatch(q: URLSearchParams): boolean {
  return isTrue(q.get('watch'));
}

function notFound(rt: ResourceType, name: string): ApiError {
  const what = rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
  return new ApiError(404, 'NotFound', `${what} "${name}" not found`, { name, group: rt.group, kind: rt.plural });
}

function dryRun(q: URLSearchParams): boolean {
  const v = q.getAll('dryRun');
  if (v.some((x) => x !== 'All'))
    throw new ApiError(400, 'BadRequest', `dryRun: Unsupported value: ${JSON.stringify(v)}: supported values: "All"`);
  return v.length > 0;
}

async function body(req: IncomingMessage): Promise<unknown> {
  return parseBody(await readBody(req), mediaType(req));
}

function asObject(v: unknown): KubeObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ApiError(400, 'BadRequest', 'the request body must be a JSON object');
  const o = v as KubeObject;
  o.metadata ??= { name: '' };
  return o;
}

/** One request on a resource path, with what every verb reads from it. */
interface Call {
  ctx: ResourceContext;
  r: ResourceRequest;
  req: IncomingMessage;
  res: ServerResponse;
  dropAfterMs?: number;
  gvr: string;
  selectors: { labelSelector?: string; fieldSelector?: string };
}

const NOT_ALLOWED = 'the server does not allow this method on the requested resource';
const APPLY = 'application/apply-patch+yaml';
const MERGE_TYPES = 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';

export async function handleResource(
  ctx: ResourceContext,
  r: ResourceRequest,
  req: IncomingMessage,
  res: ServerResponse,
  dropAfterMs?: number,
): Promise<void> {
  const q = r.query;
  const selectors = {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
  };
  checkSubresource(r);
  const call: Call = { ctx, r, req, res, dropAfterMs, gvr: gvrKey(r.rt), selectors };
  if (r.name === undefined) return handleCollection(call);
  if ((req.method ?? 'GET') === 'GET' && isWatch(q)) {
    // Legacy single-object watch: a watch with a name field selector.
    const fieldSelector = [selectors.fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(',');
    return watch(call, { labelSelector: selectors.labelSelector, fieldSelector }, false);
  }
  return handleObject(call, r.name);
}

function checkSubresource({ rt, subresource }: ResourceRequest): void {
  const missing = (what: string) =>
    new ApiError(404, 'NotFound', `the server could not find the requested resource (${rt.plural}/${what})`);
  if (subresource && subresource !== 'status' && subresource !== 'scale') throw missing(subresource);
  if (subresource === 'status' && !rt.statusSubresource) throw missing('status');
  if (subresource === 'scale' && !['Deployment', 'ReplicaSet', 'StatefulSet'].includes(rt.kind)) throw missing('scale');
}

function watch(call: Call, selectors: Call['selectors'], sendInitialEvents: boolean): void {
  const { ctx, r, req, res, dropAfterMs } = call;
  const q = r.query;
  serveWatch(
    ctx.store,
    r.rt,
    {
      namespace: r.namespace,
      ...selectors,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      allowWatchBookmarks: isTrue(q.get('allowWatchBookmarks')),
      sendInitialEvents,
      timeoutSeconds: q.has('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined,
    },
    req,
    res,
    { bookmarkIntervalMs: ctx.bookmarkIntervalMs, dropAfterMs, onClose: ctx.onClose },
  );
}

async function handleCollection(call: Call): Promise<void> {
  const { ctx, r, req, res, gvr, selectors } = call;
  const { store } = ctx;
  const { rt, namespace, query: q } = r;
  const method = req.method ?? 'GET';
  if (method === 'GET') {
    if (isWatch(q)) return watch(call, selectors, isTrue(q.get('sendInitialEvents')));
    const { items, resourceVersion } = store.list(gvr, namespace, selectors);
    sendJson(res, 200, { apiVersion: apiVersionOf(rt), kind: rt.listKind, metadata: { resourceVersion }, items });
    return;
  }
  if (method === 'POST') {
    const obj = asObject(await body(req));
    if (rt.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw new ApiError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = namespace;
    }
    sendJson(res, 201, store.create(gvr, obj, { dryRun: dryRun(q) }));
    return;
  }
  if (method === 'DELETE') return deleteCollection(call);
  throw new ApiError(405, 'MethodNotAllowed', NOT_ALLOWED);
}

async function deleteCollection({ ctx: { store }, r, req, res, gvr, selectors }: Call): Promise<void> {
  const opts = await deleteOptions(req, r.query);
  const { items } = store.list(gvr, r.namespace, selectors);
  const out: KubeObject[] = [];
  for (const o of items) {
    try {
      const d = store.delete(gvr, o.metadata.namespace, o.metadata.name, opts);
      if (d) out.push(d);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
  sendJson(res, 200, {
    apiVersion: apiVersionOf(r.rt),
    kind: r.rt.listKind,
    metadata: { resourceVersion: store.currentResourceVersion() },
    items: out,
  });
}

async function handleObject(call: Call, name: string): Promise<void> {
  const { ctx, r, req, res, gvr } = call;
  const { store } = ctx;
  const { rt, namespace, subresource, query: q } = r;
  const current = () => {
    const o = store.get(gvr, namespace, name);
    if (!o) throw notFound(rt, name);
    return o;
  };
  const status = subresource === 'status';
  if (subresource === 'scale') return handleScale(store, rt, gvr, namespace, name, req, res, current());
  switch (req.method ?? 'GET') {
    case 'GET':
      sendJson(res, 200, current());
      return;
    case 'PUT': {
      const obj = asObject(await body(req));
      if (obj.metadata.name && obj.metadata.name !== name) {
        throw new ApiError(
          400,
          'BadRequest',
          `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
        );
      }
      obj.metadata.name = name;
      if (rt.namespaced) obj.metadata.namespace = namespace;
      sendJson(res, 200, store.update(gvr, obj, { status, dryRun: dryRun(q) }));
      return;
    }
    case 'PATCH':
      return patchObject(call, name, status, current);
    case 'DELETE': {
      if (status) throw new ApiError(405, 'MethodNotAllowed', NOT_ALLOWED);
      const opts = await deleteOptions(req, q);
      const out = store.delete(gvr, namespace, name, opts);
      const stillThere = !opts.dryRun && store.get(gvr, namespace, name) !== undefined;
      sendJson(res, stillThere ? 202 : 200, out);
      return;
    }
  }
  throw new ApiError(405, 'MethodNotAllowed', NOT_ALLOWED);
}

async function patchObject(call: Call, name: string, status: boolean, current: () => KubeObject): Promise<void> {
  const { ctx, r, req, res, gvr } = call;
  const { rt, namespace } = r;
  const media = mediaType(req);
  const patch = await body(req);
  const dry = dryRun(r.query);
  const existing = ctx.store.get(gvr, namespace, name);
  if (media === APPLY) return serverSideApply(call, name, status, asObject(patch), existing);
  const cur = existing ?? current();
  const next = patched(cur, patch, media, rt);
  if (typeof next !== 'object' || next === null)
    throw new ApiError(422, 'Invalid', 'the patch produced an invalid object');
  next.metadata ??= { name };
  // A resourceVersion in the patch is a precondition; otherwise patch the current version.
  const rvInPatch = (patch as KubeObject | undefined)?.metadata?.resourceVersion;
  if (media !== 'application/json-patch+json' && !rvInPatch)
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
  next.metadata.name = name;
  if (rt.namespaced) next.metadata.namespace = namespace;
  sendJson(res, 200, ctx.store.update(gvr, next, { status, dryRun: dry }));
}

function patched(cur: KubeObject, patch: unknown, media: string | undefined, rt: ResourceType): KubeObject {
  switch (media) {
    case 'application/json-patch+json':
      return jsonPatch(cur, patch);
    case 'application/merge-patch+json':
      return jsonMergePatch(cur, patch);
    case 'application/strategic-merge-patch+json':
      if (!isBuiltin(rt)) {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${MERGE_TYPES}`,
        );
      }
      return strategicMergePatch(cur, patch, rt.kind);
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${MERGE_TYPES}, application/strategic-merge-patch+json`,
      );
  }
}

function serverSideApply(
  { ctx, r, res, gvr }: Call,
  name: string,
  status: boolean,
  applied: KubeObject,
  existing: KubeObject | undefined,
): void {
  const { rt, namespace } = r;
  const dry = dryRun(r.query);
  const manager = r.query.get('fieldManager');
  if (!manager)
    throw new ApiError(
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  if (applied.metadata.name && applied.metadata.name !== name)
    throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
  applied.metadata.name = name;
  if (rt.namespaced) applied.metadata.namespace = namespace;
  if (!existing) {
    if (status) throw notFound(rt, name);
    const created = ctx.store.create(gvr, applied, { dryRun: dry });
    if (!dry) ctx.applied.set(`${created.metadata.uid}/${manager}${status ? '/status' : ''}`, applied);
    sendJson(res, 201, created);
    return;
  }
  const key = `${existing.metadata.uid}/${manager}${status ? '/status' : ''}`;
  const merged = applyPatch(existing, applied, ctx.applied.get(key), rt.kind, isBuiltin(rt));
  merged.metadata.resourceVersion = applied.metadata.resourceVersion ?? existing.metadata.resourceVersion;
  const out = ctx.store.update(gvr, merged, { status, dryRun: dry });
  if (!dry) ctx.applied.set(key, applied);
  sendJson(res, 200, out);
}

function isBuiltin(rt: ResourceType): boolean {
  return BUILTIN_TYPES.includes(rt);
}

async function deleteOptions(
  req: IncomingMessage,
  q: URLSearchParams,
): Promise<{
  propagationPolicy?: PropagationPolicy;
  dryRun: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}> {
  const b = ((await body(req)) ?? {}) as {
    propagationPolicy?: string;
    orphanDependents?: boolean;
    dryRun?: string[];
    preconditions?: { uid?: string; resourceVersion?: string };
  };
  let policy = (q.get('propagationPolicy') ?? b.propagationPolicy) as string | undefined;
  if (policy === undefined && (b.orphanDependents === true || q.get('orphanDependents') === 'true')) policy = 'Orphan';
  if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw new ApiError(
      400,
      'BadRequest',
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
    );
  }
  return {
    propagationPolicy: policy as PropagationPolicy | undefined,
    dryRun: dryRun(q) || (b.dryRun ?? []).includes('All'),
    preconditions: b.preconditions,
  };
}

/** autoscaling/v1 Scale view of a workload's replicas. */
async function handleScale(
  store: MemStore,
  rt: ResourceType,
  gvr: string,
  namespace: string | undefined,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
  obj: KubeObject,
): Promise<void> {
  const scaleOf = (o: KubeObject) => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name,
      namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: {
      replicas: o.status?.replicas ?? 0,
      selector: Object.entries(o.spec?.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  });
  if (req.method === 'GET') return sendJson(res, 200, scaleOf(obj));
  const b = (await body(req)) as KubeObject;
  let replicas: unknown;
  if (req.method === 'PUT') replicas = b?.spec?.replicas;
  else if (req.method === 'PATCH') {
    const media = mediaType(req);
    const patched =
      media === 'application/json-patch+json' ? jsonPatch(scaleOf(obj), b) : jsonMergePatch(scaleOf(obj), b);
    replicas = patched.spec?.replicas;
  } else throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  if (typeof replicas !== 'number' || replicas < 0)
    throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value`);
  const updated = store.mutate(gvr, namespace, name, (o) => {
    o.spec.replicas = replicas;
  });
  if (!updated) throw notFound(rt, name);
  sendJson(res, 200, scaleOf(updated));
}
