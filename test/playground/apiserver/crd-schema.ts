// CRD schema validation as the apiextensions API server does it on create and update of a v1
// CustomResourceDefinition: every version needs an openAPIV3Schema, the schema must be
// structural (a type everywhere, nothing but value validations inside allOf/anyOf/oneOf/not,
// whose fields are also specified outside), and unsupported keywords are refused. The
// x-kubernetes-* extensions (int-or-string, preserve-unknown-fields, validations, list types)
// are accepted in their allowed places. Errors carry the real server's field paths and texts;
// the rules and their sources are listed in test/playground/CONFORMANCE.md section 2.
// Not emulated: CEL compilation and cost of x-kubernetes-validations rules, defaults checked
// against their schema.
import { ApiError, type KubeObject, type ResourceType } from '../types.js';

type Schema = Record<string, unknown>;
interface FieldError {
  field: string;
  text: string;
}
type Level = 'root' | 'item' | 'field';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;
const NESTED_FORBIDDEN: [string, string][] = [
  ['type', 'must be empty to be structural'],
  ['additionalProperties', 'must be undefined to be structural'],
  ['default', 'must be undefined to be structural'],
  ['title', 'must be empty to be structural'],
  ['description', 'must be empty to be structural'],
  ['nullable', 'must be false to be structural'],
  ['x-kubernetes-preserve-unknown-fields', 'must be false to be structural'],
  ['x-kubernetes-embedded-resource', 'must be false to be structural'],
  ['x-kubernetes-int-or-string', 'must be false to be structural'],
  ['x-kubernetes-list-map-keys', 'must be empty to be structural'],
  ['x-kubernetes-list-type', 'must be undefined to be structural'],
  ['x-kubernetes-map-type', 'must be undefined to be structural'],
  ['x-kubernetes-validations', 'must be empty to be structural'],
];
const UNSUPPORTED: [string, string][] = [
  ['id', 'id is not supported'],
  ['additionalItems', 'additionalItems is not supported'],
  ['patternProperties', 'patternProperties is not supported'],
  ['definitions', 'definitions is not supported'],
  ['dependencies', 'dependencies is not supported'],
  ['$ref', '$ref is not supported'],
];

const REASON: Record<string, string> = {
  'Required value': 'FieldValueRequired',
  Forbidden: 'FieldValueForbidden',
  'Invalid value': 'FieldValueInvalid',
  'Unsupported value': 'FieldValueNotSupported',
};
const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const quote = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null));
const truthy = (s: Schema, k: string) => s[k] === true;
const required = (field: string, detail = '') => ({ field, text: `Required value${detail ? `: ${detail}` : ''}` });
const forbidden = (field: string, detail: string) => ({ field, text: `Forbidden: ${detail}` });
const badValue = (field: string, value: unknown, detail: string) => ({
  field,
  text: `Invalid value: ${quote(value)}: ${detail}`,
});

/** Throws the API server's 422 when a CRD's schemas would be refused; no-op for other kinds. */
export function validateCrdSchemas(rt: ResourceType, crd: KubeObject): void {
  if (rt.kind !== 'CustomResourceDefinition') return;
  const errors: FieldError[] = [];
  (crd.spec?.versions ?? []).forEach((v: { schema?: { openAPIV3Schema?: unknown } }, i: number) => {
    const path = `spec.versions[${i}].schema.openAPIV3Schema`;
    const root = v?.schema?.openAPIV3Schema;
    if (!isObj(root)) errors.push(required(path));
    else errors.push(...schemaErrors(root, path));
  });
  if (!errors.length) return;
  const name = crd.metadata?.name ?? '';
  const body = [...new Set(errors.map((e) => `${e.field}: ${e.text}`))]; // the aggregate drops repeats
  const message = `CustomResourceDefinition.apiextensions.k8s.io ${quote(name)} is invalid: ${body.length === 1 ? body[0] : `[${body.join(', ')}]`}`;
  throw new ApiError(422, 'Invalid', message, {
    name,
    group: 'apiextensions.k8s.io',
    kind: 'CustomResourceDefinition',
    causes: errors.map((e) => ({
      reason: REASON[e.text.split(':')[0]] ?? 'FieldValueInvalid',
      message: e.text,
      field: e.field,
    })),
  });
}

/** Structural errors first (sorted, as the server sorts them), then keyword errors. */
export function schemaErrors(root: Schema, path: string): FieldError[] {
  const structural = [...invariants(root, 'root', path), ...completeness(root, root, path, path)];
  structural.sort((a, b) => `${a.field}: ${a.text}`.localeCompare(`${b.field}: ${b.text}`));
  return [...structural, ...keywords(root, path)];
}

function children(s: Schema, path: string): [Schema, Level, string][] {
  const out: [Schema, Level, string][] = [];
  if (isObj(s.items)) out.push([s.items, 'item', `${path}.items`]);
  if (isObj(s.properties))
    for (const [k, v] of Object.entries(s.properties)) if (isObj(v)) out.push([v, 'field', `${path}.properties[${k}]`]);
  if (isObj(s.additionalProperties)) out.push([s.additionalProperties, 'field', `${path}.additionalProperties`]);
  return out;
}

// validateStructuralInvariants (pkg/apiserver/schema/validation.go).
function invariants(s: Schema, level: Level, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (s.type === 'array' && s.items === undefined) errs.push(required(`${path}.items`, 'must be specified'));
  for (const [c, l, p] of children(s, path)) errs.push(...invariants(c, l, p));
  if (s.additionalProperties !== undefined && s.additionalProperties !== false && level === 'root')
    errs.push(forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
  if (truthy(s, 'x-kubernetes-int-or-string') && truthy(s, 'x-kubernetes-preserve-unknown-fields'))
    errs.push(
      badValue(
        `${path}.x-kubernetes-preserve-unknown-fields`,
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  for (const j of JUNCTORS)
    (Array.isArray(s[j]) ? (s[j] as unknown[]) : []).forEach(
      (n, i) => isObj(n) && !(j === 'anyOf' && intOrStringAnyOf(s)) && errs.push(...nested(n, `${path}.${j}[${i}]`)),
    );
  if (isObj(s.not)) errs.push(...nested(s.not, `${path}.not`));
  const type = typeof s.type === 'string' ? s.type : '';
  if (truthy(s, 'x-kubernetes-embedded-resource') && type !== 'object') {
    errs.push(
      type
        ? badValue(`${path}.type`, type, 'must be object if x-kubernetes-embedded-resource is true')
        : required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'),
    );
  } else if (!type && !truthy(s, 'x-kubernetes-int-or-string') && !truthy(s, 'x-kubernetes-preserve-unknown-fields')) {
    const where = {
      root: 'must not be empty at the root',
      item: 'must not be empty for specified array items',
      field: 'must not be empty for specified object fields',
    }[level];
    errs.push(required(`${path}.type`, where));
  }
  if (level === 'root' && type && type !== 'object')
    errs.push(badValue(`${path}.type`, type, 'must be object at the root'));
  const props = isObj(s.properties) ? s.properties : {};
  const meta = props.metadata;
  if (isObj(meta) && (level === 'root' || truthy(s, 'x-kubernetes-embedded-resource'))) {
    if (meta.type !== 'object')
      errs.push(badValue(`${path}.properties[metadata].type`, meta.type ?? '', 'must be object'));
    const keys = Object.keys(meta).filter((k) => k !== 'type' && k !== 'properties');
    const metaProps = Object.keys(isObj(meta.properties) ? meta.properties : {}).filter(
      (k) => k !== 'name' && k !== 'generateName',
    );
    if (level === 'root' && (keys.length || metaProps.length))
      errs.push(
        forbidden(
          `${path}.properties[metadata]`,
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
  }
  return errs;
}

function intOrStringAnyOf(s: Schema): boolean {
  const a = s.anyOf;
  return (
    Array.isArray(a) &&
    a.length === 2 &&
    JSON.stringify(a[0]) === '{"type":"integer"}' &&
    JSON.stringify(a[1]) === '{"type":"string"}'
  );
}

// validateNestedValueValidation: inside a junctor only value validations may appear.
function nested(s: Schema, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const j of JUNCTORS)
    (Array.isArray(s[j]) ? (s[j] as unknown[]) : []).forEach(
      (n, i) => isObj(n) && errs.push(...nested(n, `${path}.${j}[${i}]`)),
    );
  if (isObj(s.not)) errs.push(...nested(s.not, `${path}.not`));
  if (isObj(s.items)) errs.push(...nested(s.items, `${path}.items`));
  if (isObj(s.properties))
    for (const [k, v] of Object.entries(s.properties))
      if (isObj(v)) errs.push(...nested(v, `${path}.properties[${k}]`));
  for (const [k, text] of NESTED_FORBIDDEN) {
    const v = s[k];
    if (v === undefined || v === false || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    errs.push(forbidden(`${path}.${k}`, text));
  }
  if (isObj(s.properties) && 'metadata' in s.properties)
    errs.push(forbidden(`${path}.properties[metadata]`, 'must not be specified in a nested context'));
  return errs;
}

// validateStructuralCompleteness (pkg/apiserver/schema/complete.go): what a junctor names
// must also be specified outside of it.
function completeness(v: Schema, s: Schema | undefined, sPath: string, vPath: string): FieldError[] {
  const errs: FieldError[] = [];
  const junctions: [Schema, string][] = [];
  if (isObj(v.not)) junctions.push([v.not, `${vPath}.not`]);
  for (const j of ['allOf', 'anyOf', 'oneOf'])
    (Array.isArray(v[j]) ? (v[j] as unknown[]) : []).forEach(
      (n, i) => isObj(n) && junctions.push([n, `${vPath}.${j}[${i}]`]),
    );
  for (const [n, p] of junctions) errs.push(...nestedCompleteness(n, s, sPath, p));
  return errs;
}

function nestedCompleteness(v: Schema, s: Schema | undefined, sPath: string, vPath: string): FieldError[] {
  if (!s) return [required(sPath, `because it is defined in ${vPath}`)];
  const errs = completeness(v, s, sPath, vPath);
  if (isObj(v.items))
    errs.push(...nestedCompleteness(v.items, isObj(s.items) ? s.items : undefined, `${sPath}.items`, `${vPath}.items`));
  const sProps = isObj(s.properties) ? s.properties : {};
  if (isObj(v.properties)) {
    for (const [k, fld] of Object.entries(v.properties)) {
      if (!isObj(sProps[k]))
        errs.push(required(`${sPath}.properties[${k}]`, `because it is defined in ${vPath}.properties[${k}]`));
      else if (isObj(fld))
        errs.push(
          ...nestedCompleteness(fld, sProps[k] as Schema, `${sPath}.properties[${k}]`, `${vPath}.properties[${k}]`),
        );
    }
  }
  return errs;
}

// specStandardValidatorV3 (pkg/apis/apiextensions/validation/validation.go): keywords the
// API server does not support and the rules of the x-kubernetes-* extensions.
function keywords(s: Schema, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (typeof s.type === 'string' && s.type && !TYPES.includes(s.type)) {
    errs.push(
      s.type === 'null'
        ? forbidden(`${path}.type`, 'type cannot be set to null, use nullable as an alternative')
        : {
            field: `${path}.type`,
            text: `Unsupported value: ${quote(s.type)}: supported values: ${TYPES.map((t) => quote(t)).join(', ')}`,
          },
    );
  }
  for (const [k, text] of UNSUPPORTED) if (s[k] !== undefined) errs.push(forbidden(`${path}.${k}`, text));
  if (s.uniqueItems === true)
    errs.push(
      forbidden(
        `${path}.uniqueItems`,
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  if (Array.isArray(s.items)) errs.push(forbidden(`${path}.items`, 'items must be a schema object and not an array'));
  if (
    isObj(s.properties) &&
    Object.keys(s.properties).length &&
    s.additionalProperties !== undefined &&
    s.additionalProperties !== false
  ) {
    errs.push(forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  errs.push(...listType(s, path), ...celRules(s, path));
  for (const [c, , p] of children(s, path)) errs.push(...keywords(c, p));
  for (const j of JUNCTORS)
    (Array.isArray(s[j]) ? (s[j] as unknown[]) : []).forEach(
      (n, i) => isObj(n) && errs.push(...keywords(n, `${path}.${j}[${i}]`)),
    );
  return errs;
}

function listType(s: Schema, path: string): FieldError[] {
  const t = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'];
  const hasKeys = Array.isArray(keys) && keys.length > 0;
  if (t !== undefined && !['atomic', 'set', 'map'].includes(String(t)))
    return [
      {
        field: `${path}.x-kubernetes-list-type`,
        text: `Unsupported value: ${quote(t)}: supported values: "atomic", "set", "map"`,
      },
    ];
  if (hasKeys && t !== 'map')
    return [
      t === undefined
        ? required(`${path}.x-kubernetes-list-type`, 'must be map if x-kubernetes-list-map-keys is non-empty')
        : badValue(`${path}.x-kubernetes-list-type`, t, 'must be map if x-kubernetes-list-map-keys is non-empty'),
    ];
  if (t === 'map' && !hasKeys)
    return [required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map')];
  if (t === 'map') {
    const itemProps = isObj(s.items) && isObj(s.items.properties) ? s.items.properties : {};
    if ((keys as unknown[]).some((k) => typeof k !== 'string' || !(k in itemProps)))
      return [badValue(`${path}.x-kubernetes-list-map-keys`, keys, 'entries must all be names of item properties')];
  }
  return [];
}

function celRules(s: Schema, path: string): FieldError[] {
  const rules = s['x-kubernetes-validations'];
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) return [badValue(`${path}.x-kubernetes-validations`, rules, 'must be a list')];
  const errs: FieldError[] = [];
  rules.forEach((r: { rule?: unknown; message?: unknown }, i) => {
    const p = `${path}.x-kubernetes-validations[${i}]`;
    if (typeof r?.rule !== 'string' || !r.rule.trim()) errs.push(required(`${p}.rule`, 'rule is not specified'));
    if (r?.message !== undefined && (typeof r.message !== 'string' || !r.message.trim()))
      errs.push(badValue(`${p}.message`, r.message, 'must be non-empty if specified'));
    else if (typeof r?.message === 'string' && /[\r\n]/.test(r.message))
      errs.push(badValue(`${p}.message`, r.message, 'must not contain line breaks'));
  });
  return errs;
}
