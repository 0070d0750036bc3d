// Label and field selectors with the apiserver's grammar: equality (=, ==, !=) and
// set-based (in, notin, exists `key`, not-exists `!key`) requirements joined by commas.
import { ApiError, type KubeObject } from '../types.js';

type Op = 'in' | 'notin' | 'exists' | '!exists' | '=' | '!=';
interface Requirement {
  key: string;
  op: Op;
  values: string[];
}
export type Selector = (labels: Record<string, string> | undefined) => boolean;

/** Splits on commas that are not inside a `(...)` value set. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function parseRequirement(term: string, kind: string): Requirement {
  const bad = () => new ApiError(400, 'BadRequest', `unable to parse requirement: invalid ${kind} selector: "${term}"`);
  let m = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m) return { key: m[1], op: m[2] as Op, values: m[3].split(',').map((v) => v.trim()) };
  m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
  if (m) return { key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] };
  m = /^!\s*([^\s!=(),]+)$/.exec(term);
  if (m) return { key: m[1], op: '!exists', values: [] };
  m = /^([^\s!=(),]+)$/.exec(term);
  if (m && kind === 'label') return { key: m[1], op: 'exists', values: [] };
  throw bad();
}

function matches(r: Requirement, fields: Record<string, string> | undefined): boolean {
  const has = fields !== undefined && Object.prototype.hasOwnProperty.call(fields, r.key);
  const v = has ? fields![r.key] : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(v!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v!);
  }
}

export function parseLabelSelector(s: string | undefined): Selector {
  if (!s) return () => true;
  const reqs = splitTerms(s).map((t) => parseRequirement(t, 'label'));
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

/** The field values a field selector can address, per the apiserver's field label conversions. */
export function objectFields(obj: KubeObject): Record<string, string> {
  const f: Record<string, string> = { 'metadata.name': obj.metadata.name };
  if (obj.metadata.namespace) f['metadata.namespace'] = obj.metadata.namespace;
  const put = (k: string, v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') f[k] = String(v);
  };
  put('status.phase', obj.status?.phase);
  put('spec.nodeName', obj.spec?.nodeName);
  put('spec.restartPolicy', obj.spec?.restartPolicy);
  put('spec.schedulerName', obj.spec?.schedulerName);
  put('spec.serviceAccountName', obj.spec?.serviceAccountName);
  put('status.podIP', obj.status?.podIP);
  put('type', obj.type); // secrets, events
  put('status.successful', obj.status?.succeeded);
  for (const k of ['kind', 'name', 'namespace', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) {
    put(`involvedObject.${k}`, obj.involvedObject?.[k]);
  }
  put('reason', obj.reason);
  put('source', obj.source?.component);
  return f;
}

export function parseFieldSelector(s: string | undefined): (obj: KubeObject) => boolean {
  if (!s) return () => true;
  const reqs = splitTerms(s).map((t) => parseRequirement(t, 'field'));
  return (obj) => {
    const fields = objectFields(obj);
    return reqs.every((r) => matches(r, fields));
  };
}

export function parseSelectors(opts: { labelSelector?: string; fieldSelector?: string }): (obj: KubeObject) => boolean {
  const l = parseLabelSelector(opts.labelSelector);
  const f = parseFieldSelector(opts.fieldSelector);
  return (obj) => l(obj.metadata.labels) && f(obj);
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions), as used by Deployments/ReplicaSets/PDBs. */
export function labelSelectorFromObject(
  sel:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
): Selector {
  if (!sel) return () => false;
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[e.operator as 'In'];
    if (!op) return () => false;
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}
