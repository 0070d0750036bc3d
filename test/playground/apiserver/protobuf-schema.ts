// Field tables of the protobuf messages kubectl's typed `create` commands send, read from
// k8s.io/api and k8s.io/apimachinery generated.proto at v0.34.9 (see CONFORMANCE.md, section
// kubectl). Each entry: field number -> [JSON name, type, how]. Server-set fields are 'skip'.
/** `int32?`/`int64?`: a pointer in Go (0 is kept); `intstr`: IntOrString; another string: a message name. */
export type FieldType = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'int32?' | 'int64?' | 'intstr' | string;
type How = 'one' | 'repeated' | 'map' | 'mapBytes' | 'skip';
type Table = Record<number, [string, FieldType, How]>;

const one = (name: string, type: FieldType = 'string'): [string, FieldType, How] => [name, type, 'one'];
const many = (name: string, type: FieldType = 'string'): [string, FieldType, How] => [name, type, 'repeated'];
const map = (name: string, bytes = false): [string, FieldType, How] => [name, 'string', bytes ? 'mapBytes' : 'map'];
const skip = (name: string): [string, FieldType, How] => [name, 'bytes', 'skip'];

const roleBinding: Table = {
  1: one('metadata', 'meta.ObjectMeta'),
  2: many('subjects', 'rbac.Subject'),
  3: one('roleRef', 'rbac.RoleRef'),
};

export const MESSAGES: Record<string, Table> = {
  'runtime.Unknown': {
    1: one('typeMeta', 'runtime.TypeMeta'),
    2: one('raw', 'bytes'),
    3: skip('contentEncoding'),
    4: skip('contentType'),
  },
  'runtime.TypeMeta': { 1: one('apiVersion'), 2: one('kind') },
  'meta.ObjectMeta': {
    1: one('name'),
    2: one('generateName'),
    3: one('namespace'),
    4: skip('selfLink'),
    5: one('uid'),
    6: one('resourceVersion'),
    7: skip('generation'),
    8: skip('creationTimestamp'),
    9: skip('deletionTimestamp'),
    10: skip('deletionGracePeriodSeconds'),
    11: map('labels'),
    12: map('annotations'),
    13: many('ownerReferences', 'meta.OwnerReference'),
    14: many('finalizers'),
    17: skip('managedFields'),
  },
  'meta.OwnerReference': {
    5: one('apiVersion'),
    1: one('kind'),
    3: one('name'),
    4: one('uid'),
    6: one('controller', 'bool'),
    7: one('blockOwnerDeletion', 'bool'),
  },
  'meta.LabelSelector': { 1: map('matchLabels'), 2: many('matchExpressions', 'meta.LabelSelectorRequirement') },
  'meta.LabelSelectorRequirement': { 1: one('key'), 2: one('operator'), 3: many('values') },
  'meta.DeleteOptions': {
    1: one('gracePeriodSeconds', 'int64?'),
    2: one('preconditions', 'meta.Preconditions'),
    3: one('orphanDependents', 'bool'),
    4: one('propagationPolicy'),
    5: many('dryRun'),
    6: one('ignoreStoreReadErrorWithClusterBreakingPotential', 'bool'),
  },
  'meta.Preconditions': { 1: one('uid'), 2: one('resourceVersion') },
  'core.Namespace': { 1: one('metadata', 'meta.ObjectMeta'), 2: one('spec', 'core.NamespaceSpec'), 3: skip('status') },
  'core.NamespaceSpec': { 1: many('finalizers') },
  'core.ConfigMap': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: map('data'),
    3: map('binaryData', true),
    4: one('immutable', 'bool'),
  },
  'core.Secret': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: map('data', true),
    3: one('type'),
    4: map('stringData'),
    5: one('immutable', 'bool'),
  },
  'core.ServiceAccount': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: many('secrets', 'core.ObjectReference'),
    3: many('imagePullSecrets', 'core.LocalObjectReference'),
    4: one('automountServiceAccountToken', 'bool'),
  },
  'core.LocalObjectReference': { 1: one('name') },
  'core.ObjectReference': {
    1: one('kind'),
    2: one('namespace'),
    3: one('name'),
    4: one('uid'),
    5: one('apiVersion'),
    6: one('resourceVersion'),
    7: one('fieldPath'),
  },
  'authentication.TokenRequest': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: one('spec', 'authentication.TokenRequestSpec'),
    3: skip('status'),
  },
  'authentication.TokenRequestSpec': {
    1: many('audiences'),
    4: one('expirationSeconds', 'int64?'),
    3: one('boundObjectRef', 'authentication.BoundObjectReference'),
  },
  'authentication.BoundObjectReference': { 1: one('kind'), 2: one('apiVersion'), 3: one('name'), 4: one('uid') },
  'authentication.SelfSubjectReview': { 1: one('metadata', 'meta.ObjectMeta'), 2: skip('status') },
  'authorization.SelfSubjectAccessReview': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: one('spec', 'authorization.SelfSubjectAccessReviewSpec'),
    3: skip('status'),
  },
  'authorization.SelfSubjectAccessReviewSpec': {
    1: one('resourceAttributes', 'authorization.ResourceAttributes'),
    2: one('nonResourceAttributes', 'authorization.NonResourceAttributes'),
  },
  'authorization.ResourceAttributes': {
    1: one('namespace'),
    2: one('verb'),
    3: one('group'),
    4: one('version'),
    5: one('resource'),
    6: one('subresource'),
    7: one('name'),
  },
  'authorization.NonResourceAttributes': { 1: one('path'), 2: one('verb') },
  'intstr.IntOrString': { 1: one('type', 'int64?'), 2: one('intVal', 'int32?'), 3: one('strVal') },
  'core.PodTemplateSpec': { 1: one('metadata', 'meta.ObjectMeta'), 2: one('spec', 'core.PodSpec') },
  'core.PodSpec': { 2: many('containers', 'core.Container'), 3: one('restartPolicy') },
  'core.Container': {
    1: one('name'),
    2: one('image'),
    3: many('command'),
    4: many('args'),
    6: many('ports', 'core.ContainerPort'),
    7: many('env', 'core.EnvVar'),
    8: one('resources', 'core.ResourceRequirements'),
  },
  'core.ContainerPort': {
    1: one('name'),
    2: one('hostPort', 'int32'),
    3: one('containerPort', 'int32'),
    4: one('protocol'),
  },
  'core.EnvVar': { 1: one('name'), 2: one('value') },
  'core.ResourceRequirements': {},
  'core.Service': { 1: one('metadata', 'meta.ObjectMeta'), 2: one('spec', 'core.ServiceSpec'), 3: skip('status') },
  'core.ServiceSpec': {
    1: many('ports', 'core.ServicePort'),
    2: map('selector'),
    3: one('clusterIP'),
    4: one('type'),
    10: one('externalName'),
  },
  'core.ServicePort': {
    1: one('name'),
    2: one('protocol'),
    3: one('port', 'int32'),
    4: one('targetPort', 'intstr'),
    5: one('nodePort', 'int32'),
  },
  'apps.Deployment': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: one('spec', 'apps.DeploymentSpec'),
    3: skip('status'),
  },
  'apps.DeploymentSpec': {
    1: one('replicas', 'int32?'),
    2: one('selector', 'meta.LabelSelector'),
    3: one('template', 'core.PodTemplateSpec'),
    4: one('strategy', 'apps.DeploymentStrategy'),
  },
  'apps.DeploymentStrategy': { 1: one('type') },
  'batch.Job': { 1: one('metadata', 'meta.ObjectMeta'), 2: one('spec', 'batch.JobSpec'), 3: skip('status') },
  'batch.JobSpec': {
    1: one('parallelism', 'int32?'),
    2: one('completions', 'int32?'),
    4: one('selector', 'meta.LabelSelector'),
    6: one('template', 'core.PodTemplateSpec'),
    7: one('backoffLimit', 'int32?'),
  },
  'rbac.Role': { 1: one('metadata', 'meta.ObjectMeta'), 2: many('rules', 'rbac.PolicyRule') },
  'rbac.ClusterRole': {
    1: one('metadata', 'meta.ObjectMeta'),
    2: many('rules', 'rbac.PolicyRule'),
    3: one('aggregationRule', 'rbac.AggregationRule'),
  },
  'rbac.RoleBinding': roleBinding,
  'rbac.ClusterRoleBinding': roleBinding,
  'rbac.PolicyRule': {
    1: many('verbs'),
    2: many('apiGroups'),
    3: many('resources'),
    4: many('resourceNames'),
    5: many('nonResourceURLs'),
  },
  'rbac.Subject': { 1: one('kind'), 2: one('apiGroup'), 3: one('name'), 4: one('namespace') },
  'rbac.RoleRef': { 1: one('apiGroup'), 2: one('kind'), 3: one('name') },
  'rbac.AggregationRule': { 1: many('clusterRoleSelectors', 'meta.LabelSelector') },
};

/** apiVersion/kind (meta.k8s.io/ prefix dropped) -> message. */
export const KINDS: Record<string, string> = {
  'v1/Namespace': 'core.Namespace',
  'v1/ConfigMap': 'core.ConfigMap',
  'v1/Secret': 'core.Secret',
  'v1/ServiceAccount': 'core.ServiceAccount',
  'v1/DeleteOptions': 'meta.DeleteOptions',
  'v1/Service': 'core.Service',
  'apps/v1/Deployment': 'apps.Deployment',
  'batch/v1/Job': 'batch.Job',
  'authentication.k8s.io/v1/TokenRequest': 'authentication.TokenRequest',
  'authentication.k8s.io/v1/SelfSubjectReview': 'authentication.SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'authorization.SelfSubjectAccessReview',
  'rbac.authorization.k8s.io/v1/Role': 'rbac.Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'rbac.ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'rbac.RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'rbac.ClusterRoleBinding',
};
