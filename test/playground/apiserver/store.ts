// In-memory object store with the apiserver's storage semantics: one resourceVersion
// counter, optimistic concurrency, generation, status subresource, finalizers and
// deletionTimestamp, admission hooks, and a bounded event history for watches (410 Gone
// when a client asks for a compacted resourceVersion). Garbage collection and the other
// controllers live in controllers/ and react to the change feed (onChange).
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ApiError,
  type KubeObject,
  type ListOptions,
  type PropagationPolicy,
  type ResourceType,
  type Store,
  type WatchEvent,
  type WatchEventType,
} from '../types.js';
import { apiVersionOf, BUILTIN_TYPES, gvrKey, resourceKey } from './builtins.js';
import { parseSelectors } from './selectors.js';
import { defaultAndValidate, invalid, validateMeta } from './validation.js';

type AdmissionFn = (op: 'CREATE' | 'UPDATE', obj: KubeObject, old?: KubeObject) => void;

/** A committed change, as controllers and watchers see it. */
export interface Change {
  rv: number;
  resource: string; // resourceKey: `<group>/<plural>`
  type: Exclude<WatchEventType, 'BOOKMARK'>;
  obj: KubeObject;
  old?: KubeObject;
}

interface Watcher {
  resource: string;
  namespace?: string;
  match: (o: KubeObject) => boolean;
  apiVersion: string;
  onEvent: (ev: WatchEvent) => void;
}

export interface WriteOptions {
  dryRun?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const clone = <T>(v: T): T => structuredClone(v);
const objKey = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => GENERATE_ALPHABET[b % GENERATE_ALPHABET.length]).join('');
}

let lastEventNanos = 0n;
/**
 * An event's name suffix: the hex of its time in Unix nanoseconds, as client-go's recorder names it
 * (tools/record/event.go `makeEvent`: "%v.%x" of ref.Name, t.UnixNano()), so a list in name order is in time
 * order, as from etcd. Kept increasing within a millisecond.
 */
function eventNanos(): string {
  let ns = BigInt(Date.now()) * 1_000_000n;
  if (ns <= lastEventNanos) ns = lastEventNanos + 1n;
  lastEventNanos = ns;
  return ns.toString(16);
}

export class MemStore implements Store {
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly extraTypes = new Map<string, ResourceType>();
  private readonly history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly admission = new Map<string, AdmissionFn[]>();
  // Changes are dispatched in commit order even when a listener writes while being notified.
  private readonly pending: Change[] = [];
  private dispatching = false;
  private dispatchedRv = 0;

  constructor(private readonly opts: { historyLimit?: number } = {}) {}

  // ---- types ---------------------------------------------------------------------------

  types(): ResourceType[] {
    return [...BUILTIN_TYPES, ...this.extraTypes.values()];
  }

  typeOf(gvr: string): ResourceType | undefined {
    return BUILTIN_TYPES.find((t) => gvrKey(t) === gvr) ?? this.extraTypes.get(gvr);
  }

  /** Serve a custom resource type (the CRD controller calls this once a CRD is Established). */
  registerType(rt: ResourceType): void {
    this.extraTypes.set(gvrKey(rt), rt);
  }

  unregisterType(gvr: string): void {
    this.extraTypes.delete(gvr);
  }

  private mustType(gvr: string): ResourceType {
    const rt = this.typeOf(gvr);
    if (!rt) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${gvr})`);
    return rt;
  }

  private bucket(rt: ResourceType): Map<string, KubeObject> {
    const k = resourceKey(rt);
    let b = this.objects.get(k);
    if (!b) this.objects.set(k, (b = new Map()));
    return b;
  }

  /** Copy of a stored object as served by the given version. */
  private out(rt: ResourceType, o: KubeObject): KubeObject {
    const c = clone(o);
    c.apiVersion = apiVersionOf(rt);
    c.kind = rt.kind;
    return c;
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  // ---- reads ---------------------------------------------------------------------------

  get(gvr: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const rt = this.mustType(gvr);
    const o = this.bucket(rt).get(objKey(rt.namespaced ? namespace : undefined, name));
    return o && this.out(rt, o);
  }

  list(gvr: string, namespace?: string, opts: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const rt = this.mustType(gvr);
    const match = parseSelectors(opts);
    const items: KubeObject[] = [];
    for (const o of this.bucket(rt).values()) {
      if (namespace && rt.namespaced && o.metadata.namespace !== namespace) continue;
      if (match(o)) items.push(this.out(rt, o));
    }
    items.sort((a, b) =>
      objKey(a.metadata.namespace, a.metadata.name).localeCompare(objKey(b.metadata.namespace, b.metadata.name)),
    );
    return { items, resourceVersion: String(this.rv) };
  }

  /** Every stored object with its resource type (served version); for the garbage collector. */
  *all(): Generator<{ gvr: string; rt: ResourceType; obj: KubeObject }> {
    for (const rt of this.types()) {
      if (rt !== this.storageType(rt)) continue; // one entry per resource, not per version
      for (const o of this.bucket(rt).values()) yield { gvr: gvrKey(rt), rt, obj: this.out(rt, o) };
    }
  }

  /** The type a resource is listed under in all(): its first registered version. */
  private storageType(rt: ResourceType): ResourceType {
    return this.types().find((t) => resourceKey(t) === resourceKey(rt))!;
  }

  /** Drop every object of a resource (a deleted CRD's instances are gone for good). */
  purge(rt: ResourceType): void {
    this.objects.delete(resourceKey(rt));
  }

  // ---- writes --------------------------------------------------------------------------

  addAdmission(gvr: string, fn: AdmissionFn): void {
    const rt = this.mustType(gvr);
    const k = resourceKey(rt);
    this.admission.set(k, [...(this.admission.get(k) ?? []), fn]);
  }

  private admit(rt: ResourceType, op: 'CREATE' | 'UPDATE', obj: KubeObject, old?: KubeObject): void {
    for (const fn of this.admission.get(resourceKey(rt)) ?? []) fn(op, obj, old && this.out(rt, old));
  }

  private checkNamespace(rt: ResourceType, ns: string | undefined): void {
    if (!rt.namespaced) return;
    if (!ns)
      throw new ApiError(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    const nsObj = this.bucket(this.mustType('v1/namespaces')).get(objKey(undefined, ns));
    if (!nsObj) throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    if (nsObj.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${rt.plural} "${''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        { kind: rt.plural },
      );
    }
  }

  create(gvr: string, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const rt = this.mustType(gvr);
    const obj = clone(input);
    this.checkKind(rt, obj);
    obj.metadata ??= { name: '' };
    if (!rt.namespaced) delete obj.metadata.namespace;
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = generatedName(obj.metadata.generateName);
    validateMeta(rt, obj);
    this.checkNamespace(rt, obj.metadata.namespace);
    if (rt.statusSubresource && !BUILTIN_TYPES.includes(rt)) delete obj.status; // CRs: status only via /status
    if (['Deployment', 'ReplicaSet', 'StatefulSet', 'Job', 'PersistentVolume'].includes(rt.kind)) delete obj.status;
    obj.metadata.uid = randomUUID(); // before admission, as the Job strategy's selector uses it
    defaultAndValidate(rt, obj);
    this.admit(rt, 'CREATE', obj);
    validateMeta(rt, obj);
    const bucket = this.bucket(rt);
    const key = objKey(obj.metadata.namespace, obj.metadata.name);
    if (bucket.has(key)) {
      const what = rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
      throw new ApiError(409, 'AlreadyExists', `${what} "${obj.metadata.name}" already exists`, {
        name: obj.metadata.name,
        group: rt.group,
        kind: rt.plural,
      });
    }
    const m = obj.metadata;
    m.generation = 1;
    m.creationTimestamp = now();
    delete m.deletionTimestamp;
    delete m.resourceVersion;
    if (opts.dryRun) return this.out(rt, { ...obj, metadata: { ...m, resourceVersion: String(this.rv) } });
    m.resourceVersion = String(++this.rv);
    bucket.set(key, obj);
    this.commit({ rv: this.rv, resource: resourceKey(rt), type: 'ADDED', obj });
    return this.out(rt, obj);
  }

  private checkKind(rt: ResourceType, obj: KubeObject): void {
    if (obj.kind && obj.kind !== rt.kind)
      throw new ApiError(
        400,
        'BadRequest',
        `the kind "${obj.kind}" of the object does not match the resource ${rt.plural} (kind ${rt.kind})`,
      );
    const group = (obj.apiVersion ?? '').includes('/') ? obj.apiVersion.split('/')[0] : '';
    if (obj.apiVersion && group !== rt.group)
      throw new ApiError(
        400,
        'BadRequest',
        `the API version "${obj.apiVersion}" of the object does not match the resource ${rt.plural}`,
      );
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
  }

  private conflict(rt: ResourceType, name: string): ApiError {
    const what = rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${what} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      {
        name,
        group: rt.group,
        kind: rt.plural,
      },
    );
  }

  update(gvr: string, input: KubeObject, opts: { status?: boolean } & WriteOptions = {}): KubeObject {
    const rt = this.mustType(gvr);
    const ns = rt.namespaced ? input.metadata?.namespace : undefined;
    const name = input.metadata?.name;
    const bucket = this.bucket(rt);
    const key = objKey(ns, name);
    const old = bucket.get(key);
    if (!old) {
      const what = rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
      throw new ApiError(404, 'NotFound', `${what} "${name}" not found`, { name, group: rt.group, kind: rt.plural });
    }
    const rv = input.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw this.conflict(rt, name);
    if (input.metadata.uid && input.metadata.uid !== old.metadata.uid) throw this.conflict(rt, name);
    let obj = clone(input);
    this.checkKind(rt, obj);
    if (opts.status) {
      obj = { ...clone(old), status: obj.status };
    } else if (rt.statusSubresource) {
      obj.status = clone(old.status);
      if (obj.status === undefined) delete obj.status;
    }
    keepSystemMetadata(obj, old);
    const m = obj.metadata;
    validateMeta(rt, obj);
    defaultAndValidate(rt, obj, old);
    if (!opts.status) this.admit(rt, 'UPDATE', obj, old);
    if (old.metadata.deletionTimestamp) refuseNewFinalizers(rt, obj, old);
    if (m.finalizers?.length === 0) delete m.finalizers;
    const specOf = (o: KubeObject) => {
      const { metadata: _m, status, ...rest } = o;
      return JSON.stringify(rt.statusSubresource ? rest : { ...rest, status });
    };
    if (specOf(obj) !== specOf(old)) m.generation = (old.metadata.generation ?? 1) + 1;
    m.resourceVersion = old.metadata.resourceVersion;
    if (JSON.stringify(obj) === JSON.stringify(old)) return this.out(rt, old); // no-op: no new resourceVersion
    if (opts.dryRun) return this.out(rt, obj);
    if (m.deletionTimestamp && !m.finalizers?.length) return this.remove(rt, key, obj);
    m.resourceVersion = String(++this.rv);
    bucket.set(key, obj);
    this.commit({ rv: this.rv, resource: resourceKey(rt), type: 'MODIFIED', obj, old });
    return this.out(rt, obj);
  }

  mutate(
    gvr: string,
    namespace: string | undefined,
    name: string,
    fn: (obj: KubeObject) => void,
    opts?: { status?: boolean },
  ): KubeObject | undefined {
    for (;;) {
      const cur = this.get(gvr, namespace, name);
      if (!cur) return undefined;
      fn(cur);
      try {
        return this.update(gvr, cur, opts);
      } catch (e) {
        if (e instanceof ApiError && e.reason === 'Conflict') continue;
        if (e instanceof ApiError && e.code === 404) return undefined;
        throw e;
      }
    }
  }

  private remove(rt: ResourceType, key: string, obj: KubeObject): KubeObject {
    const bucket = this.bucket(rt);
    const old = bucket.get(key);
    bucket.delete(key);
    obj.metadata.resourceVersion = String(++this.rv);
    this.commit({ rv: this.rv, resource: resourceKey(rt), type: 'DELETED', obj, old });
    return this.out(rt, obj);
  }

  delete(gvr: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject | undefined {
    const rt = this.mustType(gvr);
    const key = objKey(rt.namespaced ? namespace : undefined, name);
    const old = this.bucket(rt).get(key);
    if (!old) {
      const what = rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
      throw new ApiError(404, 'NotFound', `${what} "${name}" not found`, { name, group: rt.group, kind: rt.plural });
    }
    if (opts.preconditions?.uid && opts.preconditions.uid !== old.metadata.uid) throw this.conflict(rt, name);
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== old.metadata.resourceVersion)
      throw this.conflict(rt, name);
    if (opts.dryRun) return this.out(rt, old);
    const policy = opts.propagationPolicy ?? 'Background';
    const obj = clone(old);
    const m = obj.metadata;
    const finalizers = [...(m.finalizers ?? [])];
    if (policy === 'Orphan') this.orphanDependents(old.metadata.uid!);
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    // Namespaces always go through their finalizer (the namespace controller empties them).
    const pending = finalizers.length > 0 || (rt.kind === 'Namespace' && rt.group === '');
    if (!pending) return this.remove(rt, key, obj);
    if (m.deletionTimestamp && JSON.stringify(finalizers) === JSON.stringify(m.finalizers ?? []))
      return this.out(rt, old);
    m.deletionTimestamp ??= now();
    m.deletionGracePeriodSeconds ??= 0;
    if (finalizers.length) m.finalizers = finalizers;
    if (rt.kind === 'Namespace' && rt.group === '') obj.status = { ...obj.status, phase: 'Terminating' };
    m.resourceVersion = String(++this.rv);
    this.bucket(rt).set(key, obj);
    this.commit({ rv: this.rv, resource: resourceKey(rt), type: 'MODIFIED', obj, old });
    return this.out(rt, obj);
  }

  /** Removes a Namespace whose content is gone (the namespace controller's last step). */
  finalizeNamespace(name: string): void {
    const rt = this.mustType('v1/namespaces');
    const key = objKey(undefined, name);
    const cur = this.bucket(rt).get(key);
    if (cur?.metadata.deletionTimestamp && !cur.metadata.finalizers?.length) this.remove(rt, key, clone(cur));
  }

  private orphanDependents(uid: string): void {
    for (const { gvr, obj } of [...this.all()]) {
      if (!obj.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
      this.mutate(gvr, obj.metadata.namespace, obj.metadata.name, (o) => {
        o.metadata.ownerReferences = o.metadata.ownerReferences?.filter((r) => r.uid !== uid);
        if (!o.metadata.ownerReferences?.length) delete o.metadata.ownerReferences;
      });
    }
  }

  // ---- events --------------------------------------------------------------------------

  recordEvent(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const ns = involved.metadata.namespace || 'default';
    const existing = this.list('v1/events', ns).items.find(
      (e) =>
        e.involvedObject?.uid === involved.metadata.uid &&
        e.reason === reason &&
        e.message === message &&
        e.type === type,
    );
    const ts = now();
    if (existing) {
      this.mutate('v1/events', ns, existing.metadata.name, (e) => {
        e.count = (e.count ?? 1) + 1;
        e.lastTimestamp = ts;
      });
      return;
    }
    try {
      this.create('v1/events', {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${involved.metadata.name}.${eventNanos()}`, namespace: ns },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          name: involved.metadata.name,
          namespace: involved.metadata.namespace,
          uid: involved.metadata.uid,
          resourceVersion: involved.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: ts,
        lastTimestamp: ts,
        source: { component: 'playground' },
        reportingComponent: 'playground',
      });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e; // e.g. the namespace is gone: events are best effort
    }
  }

  // ---- change feed and watches ---------------------------------------------------------

  /** Controllers subscribe to every committed change (in commit order). */
  onChange(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private commit(c: Change): void {
    this.history.push(c);
    const limit = this.opts.historyLimit ?? 5000;
    if (this.history.length > limit) this.history.splice(0, this.history.length - limit);
    this.pending.push(c);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.pending.length) {
        const next = this.pending.shift()!;
        this.dispatchedRv = next.rv;
        for (const w of this.watchers) this.deliver(w, next);
        for (const l of this.listeners) {
          try {
            l(next);
          } catch (e) {
            console.error('playground: change listener failed:', e);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Translates a change into what one watcher sees (selector transitions become ADDED/DELETED). */
  private deliver(w: Watcher, c: Change): void {
    if (c.resource !== w.resource) return;
    const inScope = (o?: KubeObject) => !!o && (!w.namespace || o.metadata.namespace === w.namespace) && w.match(o);
    const now = c.type !== 'DELETED' && inScope(c.obj);
    const before = c.type === 'ADDED' ? false : inScope(c.old ?? c.obj);
    let type: WatchEventType | undefined;
    if (c.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (!type) return;
    const object = clone(c.obj);
    object.apiVersion = w.apiVersion;
    try {
      w.onEvent({ type, object });
    } catch (e) {
      console.error('playground: watcher failed:', e);
    }
  }

  watch(
    gvr: string,
    namespace: string | undefined,
    opts: ListOptions & { resourceVersion?: string },
    onEvent: (ev: WatchEvent) => void,
  ): () => void {
    const rt = this.mustType(gvr);
    const w: Watcher = {
      resource: resourceKey(rt),
      namespace: rt.namespaced ? namespace : undefined,
      match: parseSelectors(opts),
      apiVersion: apiVersionOf(rt),
      onEvent,
    };
    const rv = opts.resourceVersion;
    if (!rv || rv === '0') {
      // Unset / "0": start with the current state as synthetic ADDED events, like the apiserver.
      for (const o of this.list(gvr, namespace, opts).items) onEvent({ type: 'ADDED', object: o });
    } else {
      const from = Number(rv);
      if (!Number.isInteger(from)) throw new ApiError(400, 'BadRequest', `invalid resource version "${rv}"`);
      const oldest = this.history.length ? this.history[0].rv : this.rv + 1;
      if (from < oldest - 1 && from < this.rv) {
        throw new ApiError(410, 'Expired', `too old resource version: ${from} (${oldest - 1})`);
      }
      // Changes not dispatched yet reach the new watcher through the dispatch loop.
      for (const c of this.history) if (c.rv > from && c.rv <= this.dispatchedRv) this.deliver(w, c);
    }
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }
}

/** names.SimpleNameGenerator: the prefix cut to 58 characters, then 5 random ones (63 in all). */
export function generatedName(prefix: string): string {
  return `${prefix.slice(0, 58)}${randomSuffix()}`;
}

const SYSTEM_METADATA = [
  'uid',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'namespace',
  'generation',
] as const;

/** System-owned metadata is never taken from the client. */
function keepSystemMetadata(obj: KubeObject, old: KubeObject): void {
  const m = obj.metadata;
  for (const k of SYSTEM_METADATA) {
    if (old.metadata[k] === undefined) delete m[k];
    else (m as Record<string, unknown>)[k] = old.metadata[k];
  }
  m.name = old.metadata.name;
}

function refuseNewFinalizers(rt: ResourceType, obj: KubeObject, old: KubeObject): void {
  const added = (obj.metadata.finalizers ?? []).filter((f: string) => !(old.metadata.finalizers ?? []).includes(f));
  if (added.length)
    throw invalid(rt, obj.metadata.name, [
      {
        field: 'metadata.finalizers',
        message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
      },
    ]);
}
