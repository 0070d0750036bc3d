// The built-in resource types the emulated API server serves, and what strategic merge
// patch needs to know about their lists (merge keys), mirroring the Go struct tags.
import type { ResourceType } from '../types.js';

function t(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  statusSubresource: boolean,
  shortNames?: string[],
): ResourceType {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    statusSubresource,
    shortNames,
  };
}

export const BUILTIN_TYPES: ResourceType[] = [
  t('', 'v1', 'namespaces', 'Namespace', false, true, ['ns']),
  t('', 'v1', 'secrets', 'Secret', true, false),
  t('', 'v1', 'configmaps', 'ConfigMap', true, false, ['cm']),
  t('', 'v1', 'services', 'Service', true, true, ['svc']),
  t('', 'v1', 'pods', 'Pod', true, true, ['po']),
  t('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, true, ['pvc']),
  t('', 'v1', 'persistentvolumes', 'PersistentVolume', false, true, ['pv']),
  t('', 'v1', 'events', 'Event', true, false, ['ev']),
  t('', 'v1', 'serviceaccounts', 'ServiceAccount', true, false, ['sa']),
  t('', 'v1', 'endpoints', 'Endpoints', true, false, ['ep']),
  t('apps', 'v1', 'deployments', 'Deployment', true, true, ['deploy']),
  t('apps', 'v1', 'replicasets', 'ReplicaSet', true, true, ['rs']),
  t('apps', 'v1', 'statefulsets', 'StatefulSet', true, true, ['sts']),
  t('batch', 'v1', 'jobs', 'Job', true, true),
  t('batch', 'v1', 'cronjobs', 'CronJob', true, true, ['cj']),
  t('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, true, [
    'crd',
    'crds',
  ]),
  t('coordination.k8s.io', 'v1', 'leases', 'Lease', true, false),
  ...rbacTypes(),
  ...chartTypes(),
];

// RBAC objects are served (stored, listed, watched) here; enforcing them is a separate concern.
function rbacTypes(): ResourceType[] {
  return [
    t('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true, false),
    t('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true, false),
    t('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false, false),
    t('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false, false),
  ];
}

// What every fresh cluster serves and operator charts install (the cloudnative-pg chart's
// webhook configurations, priority classes, PDBs, network policies); CONFORMANCE.md section 2.
function chartTypes(): ResourceType[] {
  return [
    t(
      'admissionregistration.k8s.io',
      'v1',
      'mutatingwebhookconfigurations',
      'MutatingWebhookConfiguration',
      false,
      false,
    ),
    t(
      'admissionregistration.k8s.io',
      'v1',
      'validatingwebhookconfigurations',
      'ValidatingWebhookConfiguration',
      false,
      false,
    ),
    t('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, true, ['pdb']),
    t('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false, false, ['pc']),
    t('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false, false, ['sc']),
    t('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true, false, ['netpol']),
    t('networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, true, ['ing']),
    t('networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', false, false),
  ];
}

/** `<group>/<version>/<plural>`, core group as `v1/<plural>` (the key Store methods take). */
export function gvrKey(rt: { group: string; version: string; plural: string }): string {
  return rt.group ? `${rt.group}/${rt.version}/${rt.plural}` : `${rt.version}/${rt.plural}`;
}

export function apiVersionOf(rt: { group: string; version: string }): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** Storage key shared by every version of a resource: `<group>/<plural>`. */
export function resourceKey(rt: { group: string; plural: string }): string {
  return `${rt.group}/${rt.plural}`;
}

/**
 * Merge key of a list field for strategic merge patch, by field path (names only, list
 * indices dropped); undefined means the list is atomic (replaced). `MERGE_PRIMITIVE` marks
 * lists of scalars merged as sets (metadata.finalizers).
 */
export const MERGE_PRIMITIVE = '\0primitive';
export function strategicMergeKey(kind: string, path: string[]): string | undefined {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  if (path.length === 2 && path[0] === 'metadata' && field === 'finalizers') return MERGE_PRIMITIVE;
  if (path.length === 2 && path[0] === 'metadata' && field === 'ownerReferences') return 'uid';
  if (field === 'conditions') return 'type';
  if (kind === 'Service' && path.join('.') === 'spec.ports') return 'port';
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'secrets': // ServiceAccount.secrets
    case 'webhooks': // Mutating/ValidatingWebhookConfiguration.webhooks
      return 'name';
    case 'ports':
      return parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers'
        ? 'containerPort'
        : undefined;
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
  }
  return undefined;
}
