// Object validation and defaulting the apiserver applies on every write, before admission
// webhooks (names, labels, a few per-type required fields and defaults).
import { ApiError, type KubeObject, type ResourceType } from '../types.js';
import { labelSelectorFromObject } from './selectors.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

// Types whose names must be DNS-1123 labels (they become DNS names or path segments).
const LABEL_NAMED = new Set(['Namespace', 'Service']);

export function invalid(rt: ResourceType, name: string, causes: { field: string; message: string }[]): ApiError {
  const kindGroup = rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  const msg = `${kindGroup} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
  return new ApiError(422, 'Invalid', msg, {
    name,
    group: rt.group,
    kind: rt.kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

function checkQualifiedKey(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (parts.length === 2 && (parts[0].length > 253 || !DNS1123_SUBDOMAIN.test(parts[0]))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

export function validateMeta(rt: ResourceType, obj: KubeObject): void {
  const name = obj.metadata?.name ?? '';
  const causes: { field: string; message: string }[] = [];
  if (!name) causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else if (rt.group === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments (system:discovery is valid): pkg/apis/rbac/validation ValidateRBACName.
    if (name === '.' || name === '..' || /[/%]/.test(name)) causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": may not contain '/' or '%'` });
  } else if (LABEL_NAMED.has(rt.kind) && (name.length > 63 || !DNS1123_LABEL.test(name))) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character` });
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
  }
  for (const [k, v] of Object.entries(obj.metadata?.labels ?? {})) {
    if (!checkQualifiedKey(k)) causes.push({ field: 'metadata.labels', message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'` });
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push({ field: 'metadata.labels', message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    }
  }
  for (const k of Object.keys(obj.metadata?.annotations ?? {})) {
    if (!checkQualifiedKey(k)) causes.push({ field: 'metadata.annotations', message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'` });
  }
  for (const [k, v] of Object.entries(obj.metadata?.annotations ?? {})) {
    if (typeof v !== 'string') causes.push({ field: `metadata.annotations.${k}`, message: 'Invalid value: must be a string' });
  }
  if (causes.length) throw invalid(rt, name, causes);
}

// Kinds whose spec the apiserver always defaults to an object.
const SPEC_KINDS = new Set(['Namespace', 'Pod', 'Service', 'PersistentVolumeClaim', 'PersistentVolume', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Job', 'CustomResourceDefinition', 'PodDisruptionBudget']);
const b64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Per-type defaulting and required fields; `old` is set on updates. */
export function defaultAndValidate(rt: ResourceType, obj: KubeObject, old?: KubeObject): void {
  const name = obj.metadata.name;
  if (SPEC_KINDS.has(rt.kind)) obj.spec ??= {};
  const spec = obj.spec ?? {};
  switch (rt.kind) {
    case 'Secret': {
      if (obj.stringData) {
        obj.data = { ...(obj.data ?? {}) };
        for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        if (typeof v !== 'string' || !b64.test(v)) throw new ApiError(400, 'BadRequest', `illegal base64 data in Secret ${name} key ${k}`);
      }
      obj.type ??= 'Opaque';
      if (old && old.type !== obj.type) throw invalid(rt, name, [{ field: 'type', message: 'Invalid value: field is immutable' }]);
      break;
    }
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...obj.spec };
      obj.status = { phase: 'Active', ...(old?.status ?? obj.status) };
      break;
    case 'Service':
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (!spec.clusterIP && spec.type !== 'ExternalName') spec.clusterIP = old?.spec?.clusterIP ?? `10.96.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
      if (spec.clusterIP && spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP];
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    case 'Pod': {
      const containers = spec.containers;
      if (!Array.isArray(containers) || containers.length === 0) throw invalid(rt, name, [{ field: 'spec.containers', message: 'Required value' }]);
      for (const [i, c] of containers.entries()) {
        if (!c?.name) throw invalid(rt, name, [{ field: `spec.containers[${i}].name`, message: 'Required value' }]);
        if (!c?.image) throw invalid(rt, name, [{ field: `spec.containers[${i}].image`, message: 'Required value' }]);
        c.imagePullPolicy ??= /:latest$|^[^:]*$/.test(c.image) ? 'Always' : 'IfNotPresent';
        c.terminationMessagePath ??= '/dev/termination-log';
      }
      spec.restartPolicy ??= 'Always';
      spec.dnsPolicy ??= 'ClusterFirst';
      spec.serviceAccountName ??= 'default';
      spec.terminationGracePeriodSeconds ??= 30;
      spec.schedulerName ??= 'default-scheduler';
      if (!old) obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    }
    case 'PersistentVolumeClaim':
      if (!spec.resources?.requests?.storage) throw invalid(rt, name, [{ field: 'spec.resources[storage]', message: 'Required value' }]);
      if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) throw invalid(rt, name, [{ field: 'spec.accessModes', message: 'Required value: at least 1 access mode is required' }]);
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
        throw invalid(rt, name, [{ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\`` }]);
      }
      if (!Array.isArray(spec.template?.spec?.containers) || spec.template.spec.containers.length === 0) {
        throw invalid(rt, name, [{ field: 'spec.template.spec.containers', message: 'Required value' }]);
      }
      if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(spec.selector)) {
        throw invalid(rt, name, [{ field: 'spec.selector', message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable` }]);
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
      if (!spec.template?.spec?.containers?.length) throw invalid(rt, name, [{ field: 'spec.template.spec.containers', message: 'Required value' }]);
      spec.template.spec.restartPolicy ??= 'Never';
      if (!['Never', 'OnFailure'].includes(spec.template.spec.restartPolicy)) {
        throw invalid(rt, name, [{ field: 'spec.template.spec.restartPolicy', message: `Unsupported value: "${spec.template.spec.restartPolicy}": supported values: "OnFailure", "Never"` }]);
      }
      if (old && JSON.stringify(old.spec?.template) !== JSON.stringify(spec.template)) {
        throw invalid(rt, name, [{ field: 'spec.template', message: 'Invalid value: field is immutable' }]);
      }
      break;
    case 'CustomResourceDefinition': {
      const plural = spec.names?.plural;
      if (!spec.group || !plural || !spec.names?.kind || !Array.isArray(spec.versions) || spec.versions.length === 0) {
        throw invalid(rt, name, [{ field: 'spec', message: 'Required value: group, names.plural, names.kind and versions are required' }]);
      }
      if (name !== `${plural}.${spec.group}`) {
        throw invalid(rt, name, [{ field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` }]);
      }
      if (spec.versions.filter((v: { storage?: boolean }) => v.storage).length !== 1) {
        throw invalid(rt, name, [{ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' }]);
      }
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
  t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name } };
}
