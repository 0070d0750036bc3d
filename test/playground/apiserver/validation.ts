// Object validation and defaulting the apiserver applies on every write, before admission
// webhooks (names, labels, a few per-type required fields and defaults).
import { ApiError, type KubeObject, type ResourceType } from '../types.js';
import { validateCrdSchemas } from './crd-schema.js';
import { cronJobCauses } from './cronjob.js';
import { labelSelectorFromObject } from './selectors.js';
import { defaultPullPolicy } from './controllers/images.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

type NameRule = (name: string) => string[];
const tooLong = (max: number) => `must be no more than ${max} characters`;

export const dns1123Subdomain: NameRule = (n) => [
  ...(n.length > 253 ? [tooLong(253)] : []),
  ...(DNS1123_SUBDOMAIN.test(n)
    ? []
    : [
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ]),
];
export const dns1123Label: NameRule = (n) => [
  ...(n.length > 63 ? [tooLong(63)] : []),
  ...(DNS1123_LABEL.test(n)
    ? []
    : [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ]),
];
export const dns1035Label: NameRule = (n) => [
  ...(n.length > 63 ? [tooLong(63)] : []),
  ...(DNS1035_LABEL.test(n)
    ? []
    : [
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ]),
];
/** path.IsValidPathSegmentName: RBAC objects accept anything a URL path segment can carry. */
const pathSegment: NameRule = (n) =>
  ['.', '..'].includes(n)
    ? [`may not be '${n}'`]
    : ['/', '%'].filter((c) => n.includes(c)).map((c) => `may not contain '${c}'`);

/**
 * Name rule per kind, as the API server validates metadata.name (pkg/apis/core/validation,
 * pkg/apis/rbac/validation, apiextensions' customresource strategy): Namespaces are RFC 1123
 * labels, Services RFC 1035 labels, RBAC objects path segments, everything else (custom
 * resources included) RFC 1123 subdomains.
 */
export function nameRule(kind: string): NameRule {
  if (kind === 'Namespace') return dns1123Label;
  if (kind === 'Service') return dns1035Label;
  if (['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(kind)) return pathSegment;
  return dns1123Subdomain;
}

export function invalid(rt: ResourceType, name: string, causes: { field: string; message: string }[]): ApiError {
  const kindGroup = rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  const msg = `${kindGroup} "${name}" is invalid: ${causes.length === 1 ? `${causes[0].field}: ${causes[0].message}` : `[${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}]`}`;
  return new ApiError(422, 'Invalid', msg, {
    name,
    group: rt.group,
    kind: rt.kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  const name = parts[parts.length - 1];
  const errs: string[] = [];
  if (parts.length > 2)
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  if (parts.length === 2) {
    if (!parts[0]) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(parts[0]).map((m) => `prefix part ${m}`));
  }
  if (!name) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${tooLong(63)}`);
  if (name && !QUALIFIED_NAME.test(name))
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  return errs;
}

/** Label keys and values (apimachinery ValidateLabels), under `path`. */
export function labelErrors(
  labels: Record<string, unknown> | undefined,
  path: string,
): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of qualifiedNameErrors(k)) out.push({ field: path, message: `Invalid value: "${k}": ${m}` });
    if (typeof v !== 'string') {
      out.push({ field: path, message: `Invalid value: ${JSON.stringify(v)}: must be a string` });
      continue;
    }
    if (v.length > 63) out.push({ field: path, message: `Invalid value: "${v}": ${tooLong(63)}` });
    if (!LABEL_VALUE.test(v))
      out.push({
        field: path,
        message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      });
  }
  return out;
}

export function validateMeta(rt: ResourceType, obj: KubeObject): void {
  const name = obj.metadata?.name ?? '';
  const causes: { field: string; message: string }[] = [];
  if (!name) causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else
    for (const m of nameRule(rt.kind)(name))
      causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": ${m}` });
  causes.push(...labelErrors(obj.metadata?.labels, 'metadata.labels'));
  for (const k of Object.keys(obj.metadata?.annotations ?? {})) {
    for (const m of qualifiedNameErrors(k))
      causes.push({ field: 'metadata.annotations', message: `Invalid value: "${k}": ${m}` });
  }
  for (const [k, v] of Object.entries(obj.metadata?.annotations ?? {})) {
    if (typeof v !== 'string')
      causes.push({ field: `metadata.annotations.${k}`, message: 'Invalid value: must be a string' });
  }
  if (causes.length) throw invalid(rt, name, causes);
}

// Kinds whose spec the apiserver always defaults to an object.
const SPEC_KINDS = new Set([
  'Namespace',
  'Pod',
  'Service',
  'PersistentVolumeClaim',
  'PersistentVolume',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'CustomResourceDefinition',
  'PodDisruptionBudget',
]);
const b64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Pod spec fields that become DNS names (hostname, subdomain) and container names: RFC 1123 labels. */
function podSpecErrors(spec: any, path: string): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const label = (v: unknown, field: string) => {
    if (typeof v === 'string' && v !== '')
      for (const m of dns1123Label(v)) out.push({ field, message: `Invalid value: "${v}": ${m}` });
  };
  label(spec?.hostname, `${path}.hostname`);
  label(spec?.subdomain, `${path}.subdomain`);
  for (const [i, c] of (spec?.containers ?? []).entries()) label(c?.name, `${path}.containers[${i}].name`);
  for (const [i, v] of (spec?.volumes ?? []).entries()) label(v?.name, `${path}.volumes[${i}].name`);
  return out;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'Job']);

/** Pods and pod templates: labels and DNS-bound names, as ValidatePodTemplateSpec / ValidatePodSpec. */
function validatePodShapes(rt: ResourceType, obj: KubeObject): void {
  const causes =
    rt.kind === 'Pod'
      ? podSpecErrors(obj.spec, 'spec')
      : TEMPLATE_KINDS.has(rt.kind)
        ? [
            ...labelErrors(obj.spec?.template?.metadata?.labels, 'spec.template.metadata.labels'),
            ...podSpecErrors(obj.spec?.template?.spec, 'spec.template.spec'),
          ]
        : rt.kind === 'CronJob'
          ? [
              ...labelErrors(
                obj.spec?.jobTemplate?.spec?.template?.metadata?.labels,
                'spec.jobTemplate.spec.template.metadata.labels',
              ),
              ...podSpecErrors(obj.spec?.jobTemplate?.spec?.template?.spec, 'spec.jobTemplate.spec.template.spec'),
            ]
          : [];
  if (causes.length) throw invalid(rt, obj.metadata.name, causes);
}

/** Per-type defaulting and required fields; `old` is set on updates. */
export function defaultAndValidate(rt: ResourceType, obj: KubeObject, old?: KubeObject): void {
  if (SPEC_KINDS.has(rt.kind)) obj.spec ??= {};
  defaultByKind(rt, obj, old);
  validatePodShapes(rt, obj);
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * ValidateSecret (kubernetes pkg/apis/core/validation/validation.go): keys are config keys, the data
 * at most 1 MiB, and each built-in type's required keys (CONFORMANCE.md, branch conform).
 */
export function secretErrors(obj: KubeObject): { field: string; message: string }[] {
  const data = (obj.data ?? {}) as Record<string, string>;
  const has = (k: string) => Object.hasOwn(data, k);
  const required = (k: string) => ({ field: `data[${k}]`, message: 'Required value' });
  const out: { field: string; message: string }[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    if (!CONFIG_KEY.test(k) || k === '.' || k === '..' || k.length > 253)
      out.push({
        field: `data[${k}]`,
        message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
      });
    size += Buffer.from(v, 'base64').length;
  }
  if (size > MAX_SECRET_BYTES)
    out.push({ field: 'data', message: `Too long: may not be more than ${MAX_SECRET_BYTES} bytes` });
  switch (obj.type) {
    case 'kubernetes.io/tls':
      for (const k of ['tls.crt', 'tls.key']) if (!has(k)) out.push(required(k));
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) out.push(required('username'), required('password'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (!data['ssh-privatekey']) out.push(required('ssh-privatekey'));
      break;
    case 'kubernetes.io/dockercfg':
    case 'kubernetes.io/dockerconfigjson': {
      const key = obj.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
      if (!has(key)) out.push(required(key));
      else if (!isJsonObject(Buffer.from(data[key], 'base64').toString('utf8')))
        out.push({ field: `data[${key}]`, message: 'Invalid value: "<secret contents redacted>": invalid JSON' });
      break;
    }
    case 'kubernetes.io/service-account-token':
      if (!obj.metadata.annotations?.['kubernetes.io/service-account.name'])
        out.push({ field: 'metadata.annotations[kubernetes.io/service-account.name]', message: 'Required value' });
      break;
  }
  return out;
}

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return !!v && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

function defaultByKind(rt: ResourceType, obj: KubeObject, old?: KubeObject): void {
  const name = obj.metadata.name;
  const spec = obj.spec ?? {};
  switch (rt.kind) {
    case 'Secret': {
      if (obj.stringData) {
        obj.data = { ...(obj.data ?? {}) };
        for (const [k, v] of Object.entries(obj.stringData as Record<string, string>))
          obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        if (typeof v !== 'string' || !b64.test(v))
          throw new ApiError(400, 'BadRequest', `illegal base64 data in Secret ${name} key ${k}`);
      }
      obj.type ??= 'Opaque';
      if (old && old.type !== obj.type)
        throw invalid(rt, name, [{ field: 'type', message: 'Invalid value: field is immutable' }]);
      const errs = secretErrors(obj);
      if (errs.length) throw invalid(rt, name, errs);
      break;
    }
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...obj.spec };
      obj.status = { phase: 'Active', ...(old?.status ?? obj.status) };
      break;
    case 'Service':
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (!spec.clusterIP && spec.type !== 'ExternalName')
        spec.clusterIP =
          old?.spec?.clusterIP ?? `10.96.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
      if (spec.clusterIP && spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP];
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    case 'Pod': {
      const containers = spec.containers;
      if (!Array.isArray(containers) || containers.length === 0)
        throw invalid(rt, name, [{ field: 'spec.containers', message: 'Required value' }]);
      for (const [i, c] of containers.entries()) {
        if (!c?.name) throw invalid(rt, name, [{ field: `spec.containers[${i}].name`, message: 'Required value' }]);
        if (!c?.image) throw invalid(rt, name, [{ field: `spec.containers[${i}].image`, message: 'Required value' }]);
        c.terminationMessagePath ??= '/dev/termination-log';
      }
      for (const c of [...(spec.initContainers ?? []), ...containers]) c.imagePullPolicy ??= defaultPullPolicy(c.image);
      spec.restartPolicy ??= 'Always';
      spec.dnsPolicy ??= 'ClusterFirst';
      spec.serviceAccountName ??= 'default';
      spec.terminationGracePeriodSeconds ??= 30;
      spec.schedulerName ??= 'default-scheduler';
      if (!old) obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    }
    case 'PersistentVolumeClaim':
      if (!spec.resources?.requests?.storage)
        throw invalid(rt, name, [{ field: 'spec.resources[storage]', message: 'Required value' }]);
      if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0)
        throw invalid(rt, name, [
          { field: 'spec.accessModes', message: 'Required value: at least 1 access mode is required' },
        ]);
      spec.volumeMode ??= 'Filesystem';
      if (!old) obj.status = { phase: 'Pending' };
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet': {
      spec.replicas ??= 1;
      if (!spec.selector) throw invalid(rt, name, [{ field: 'spec.selector', message: 'Required value' }]);
      const labels = spec.template?.metadata?.labels;
      if (!labelSelectorFromObject(spec.selector)(labels)) {
        throw invalid(rt, name, [
          {
            field: 'spec.template.metadata.labels',
            message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\``,
          },
        ]);
      }
      if (!Array.isArray(spec.template?.spec?.containers) || spec.template.spec.containers.length === 0) {
        throw invalid(rt, name, [{ field: 'spec.template.spec.containers', message: 'Required value' }]);
      }
      if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(spec.selector)) {
        throw invalid(rt, name, [
          { field: 'spec.selector', message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable` },
        ]);
      }
      spec.revisionHistoryLimit ??= 10;
      if (rt.kind === 'Deployment') {
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      }
      break;
    }
    case 'Job':
      if (!old) jobSelector(obj);
      spec.backoffLimit ??= 6;
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      if (!spec.template?.spec?.containers?.length)
        throw invalid(rt, name, [{ field: 'spec.template.spec.containers', message: 'Required value' }]);
      spec.template.spec.restartPolicy ??= 'Never';
      if (!['Never', 'OnFailure'].includes(spec.template.spec.restartPolicy)) {
        throw invalid(rt, name, [
          {
            field: 'spec.template.spec.restartPolicy',
            message: `Unsupported value: "${spec.template.spec.restartPolicy}": supported values: "OnFailure", "Never"`,
          },
        ]);
      }
      if (old && JSON.stringify(old.spec?.template) !== JSON.stringify(spec.template)) {
        throw invalid(rt, name, [{ field: 'spec.template', message: 'Invalid value: field is immutable' }]);
      }
      break;
    case 'CronJob': {
      const causes = cronJobCauses(name, spec, old?.spec);
      if (causes.length) throw invalid(rt, name, causes);
      break;
    }
    case 'CustomResourceDefinition': {
      const plural = spec.names?.plural;
      if (!spec.group || !plural || !spec.names?.kind || !Array.isArray(spec.versions) || spec.versions.length === 0) {
        throw invalid(rt, name, [
          { field: 'spec', message: 'Required value: group, names.plural, names.kind and versions are required' },
        ]);
      }
      if (name !== `${plural}.${spec.group}`) {
        throw invalid(rt, name, [
          { field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` },
        ]);
      }
      if (spec.versions.filter((v: { storage?: boolean }) => v.storage).length !== 1) {
        throw invalid(rt, name, [
          { field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' },
        ]);
      }
      validateCrdSchemas(rt, obj);
      spec.names.singular ??= String(spec.names.kind).toLowerCase();
      spec.names.listKind ??= `${spec.names.kind}List`;
      spec.scope ??= 'Namespaced';
      break;
    }
  }
}

/** The Job strategy's generated selector: pods are matched by the Job's uid, and carry its name. */
function jobSelector(job: KubeObject): void {
  const spec = job.spec;
  if (spec.manualSelector || !job.metadata.uid) return;
  const uid = job.metadata.uid;
  const name = job.metadata.name;
  spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const t = (spec.template ??= {});
  t.metadata = {
    ...t.metadata,
    labels: {
      ...t.metadata?.labels,
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    },
  };
}
