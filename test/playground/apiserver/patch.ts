// PATCH bodies the apiserver accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902),
// strategic merge patch (built-in types only, list merge keys from builtins.ts) and an
// approximation of server-side apply (three-way against what the same field manager applied
// last time, so fields a manager stops applying are removed, as with managedFields).
import { ApiError } from '../types.js';
import { MERGE_PRIMITIVE, strategicMergeKey } from './builtins.js';

type Json = any;

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

export function jsonMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, 'Invalid', `invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[], op: string): { parent: Json; key: string } {
  let cur = doc;
  for (const tok of tokens.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(tok)] : isObj(cur) ? cur[tok] : undefined;
    if (cur === undefined)
      throw new ApiError(
        422,
        'Invalid',
        `jsonpatch ${op} operation does not apply: doc is missing path: "/${tokens.join('/')}"`,
      );
  }
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function getAt(doc: Json, path: string): Json {
  let cur = doc;
  for (const tok of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(tok)] : isObj(cur) ? cur[tok] : undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `jsonpatch: doc is missing path: "${path}"`);
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const { parent, key } = parentOf(doc, pointer(path), 'remove');
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!(i >= 0 && i < parent.length))
      throw new ApiError(422, 'Invalid', `jsonpatch remove operation does not apply: doc is missing path: "${path}"`);
    return parent.splice(i, 1)[0];
  }
  if (!isObj(parent) || !(key in parent))
    throw new ApiError(422, 'Invalid', `jsonpatch remove operation does not apply: doc is missing path: "${path}"`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return clone(value);
  const { parent, key } = parentOf(doc, tokens, replace ? 'replace' : 'add');
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!(i >= 0 && i <= parent.length) || (replace && i >= parent.length))
      throw new ApiError(422, 'Invalid', `jsonpatch: index out of range at "${path}"`);
    parent.splice(i, replace ? 1 : 0, clone(value));
  } else if (isObj(parent)) {
    if (replace && !(key in parent))
      throw new ApiError(422, 'Invalid', `jsonpatch replace operation does not apply: doc is missing key: "${path}"`);
    parent[key] = clone(value);
  } else throw new ApiError(422, 'Invalid', `jsonpatch: cannot add at "${path}"`);
  return doc;
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json patch must be an array of operations');
  let doc = clone(target);
  for (const op of ops) {
    switch (op?.op) {
      case 'add':
        doc = addAt(doc, op.path, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, op.value, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move':
        doc = addAt(doc, op.path, removeAt(doc, op.from), false);
        break;
      case 'copy':
        doc = addAt(doc, op.path, getAt(doc, op.from), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) {
          throw new ApiError(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value ${op.path} failed`,
          );
        }
        break;
      default:
        throw new ApiError(400, 'BadRequest', `unexpected json patch operation ${JSON.stringify(op?.op)}`);
    }
  }
  return doc;
}

/** Strategic merge patch of `patch` into `target`; `path` is the field path for merge-key lookup. */
export function strategicMergePatch(target: Json, patch: Json, kind: string, path: string[] = []): Json {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  const retainKeys: string[] | undefined = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) continue; // applied after the list merges below
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field])) out[field] = out[field].filter((x: Json) => !(v as Json[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const fieldPath = [...path, k];
    if (Array.isArray(v)) {
      out[k] = mergeList(out[k], v, kind, fieldPath);
      if (out[k] === undefined) delete out[k];
    } else if (isObj(v)) {
      const merged = strategicMergePatch(out[k], v, kind, fieldPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/')) continue;
    const field = k.slice('$setElementOrder/'.length);
    out[field] = reorder(out[field], order as Json[], strategicMergeKey(kind, [...path, field]));
  }
  if (retainKeys) for (const k of Object.keys(out)) if (!retainKeys.includes(k)) delete out[k];
  return out;
}

function mergeList(current: Json, patch: Json[], kind: string, path: string[]): Json[] {
  const key = strategicMergeKey(kind, path);
  if (patch.some((p) => isObj(p) && p.$patch === 'replace'))
    return clone(patch.filter((p) => !(isObj(p) && p.$patch === 'replace')));
  if (key === undefined || !Array.isArray(current)) {
    return clone(patch.filter((p) => !(isObj(p) && p.$patch === 'delete')));
  }
  if (key === MERGE_PRIMITIVE) {
    const out = [...current];
    for (const p of patch) if (!out.includes(p)) out.push(p);
    return out;
  }
  const out = [...current];
  for (const item of patch) {
    if (!isObj(item)) continue;
    const idx = out.findIndex((c) => isObj(c) && c[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item, kind, path);
    else out.push(strategicMergePatch(undefined, item, kind, path));
  }
  return out;
}

function reorder(list: Json, order: Json[], key: string | undefined): Json {
  if (!Array.isArray(list)) return list;
  const id = (x: Json) => JSON.stringify(key && key !== MERGE_PRIMITIVE && isObj(x) ? x[key] : x);
  const rank = new Map(order.map((o, i) => [id(o), i]));
  return [...list].sort((a, b) => (rank.get(id(a)) ?? Infinity) - (rank.get(id(b)) ?? Infinity));
}

/**
 * Removal patch for server-side apply: what `prev` (the manager's last applied config)
 * set that `next` no longer sets, as strategic-merge directives (null / `$patch: delete`).
 */
function removals(
  prev: Json,
  next: Json,
  kind: string,
  path: string[],
  strategic: boolean,
): Record<string, Json> | undefined {
  if (!isObj(prev) || !isObj(next)) return undefined;
  const out: Record<string, Json> = {};
  for (const [k, pv] of Object.entries(prev)) {
    const nv = next[k];
    const fieldPath = [...path, k];
    if (nv === undefined) out[k] = null;
    else if (isObj(pv) && isObj(nv)) {
      const sub = removals(pv, nv, kind, fieldPath, strategic);
      if (sub) out[k] = sub;
    } else if (strategic && Array.isArray(pv) && Array.isArray(nv)) {
      const key = strategicMergeKey(kind, fieldPath);
      if (key && key !== MERGE_PRIMITIVE) {
        const gone = pv.filter((p) => isObj(p) && !nv.some((n) => isObj(n) && n[key] === p[key]));
        if (gone.length) out[k] = gone.map((g) => ({ [key]: g[key], $patch: 'delete' }));
      } else if (key === MERGE_PRIMITIVE) {
        const gone = pv.filter((p) => !nv.includes(p));
        if (gone.length) out[`$deleteFromPrimitiveList/${k}`] = gone;
      }
    }
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * Server-side apply, approximated: merge the applied configuration into the live object
 * (strategic for built-ins, lists atomic for custom resources) after removing whatever the
 * same manager applied before and dropped now. No conflict detection between managers.
 */
export function applyPatch(live: Json, applied: Json, prevApplied: Json, kind: string, strategic: boolean): Json {
  const merge = (a: Json, b: Json) => (strategic ? strategicMergePatch(a, b, kind) : jsonMergePatch(a, b));
  const rm = removals(prevApplied, applied, kind, [], strategic);
  const base = rm ? merge(live, rm) : live;
  return merge(base, applied);
}
