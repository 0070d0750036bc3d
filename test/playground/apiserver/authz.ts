// Authentication and RBAC authorization for the emulated API server, off unless a test asks
// for it (startApiServer({ rbac: true })). Bearer tokens map to users: the kubeconfig's admin
// token to a system:masters user, tokens minted through serviceaccounts/<name>/token
// (TokenRequest) to the ServiceAccount. Requests are turned into attributes the way the
// apiserver's RequestInfo does and checked against Role/ClusterRole rules reached through
// RoleBindings/ClusterRoleBindings; SelfSubjectAccessReview answers the same question.
// Facts and sources: test/playground/CONFORMANCE.md section 4.
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError, type KubeObject } from '../types.js';
import type { MemStore } from './store.js';

export const ADMIN_TOKEN = 'playground-token';
const MASTERS = 'system:masters';

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Request attributes from method + path + query, as k8s.io/apiserver's RequestInfoFactory derives them. */
export function requestAttributes(user: UserInfo, method: string, path: string, query: URLSearchParams): Attributes {
  const a: Attributes = {
    user,
    verb: method.toLowerCase(),
    resourceRequest: false,
    path,
    apiGroup: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
  let parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'api' && parts.length >= 3) parts = parts.slice(1);
  else if (parts[0] === 'apis' && parts.length >= 4) [a.apiGroup, parts] = [parts[1], parts.slice(2)];
  else return a;
  a.resourceRequest = true;
  parts = parts.slice(1); // version
  const special = parts[0] === 'watch';
  if (special) [a.verb, parts] = ['watch', parts.slice(1)];
  else
    a.verb =
      (
        { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<
          string,
          string
        >
      )[method] ?? '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    a.namespace = parts[1];
    if (parts.length > 2 && !['status', 'finalize'].includes(parts[2])) parts = parts.slice(2);
  }
  [a.resource = '', a.name = '', a.subresource = ''] = parts;
  if (!a.name && a.verb === 'get')
    a.verb = ['false', '0'].includes((query.get('watch') ?? 'false').toLowerCase()) ? 'list' : 'watch';
  if (!a.name && a.verb === 'delete') a.verb = 'deletecollection';
  // list/watch of one object by field selector is authorized against its name (resourceNames rules).
  const byName = /(?:^|,)metadata\.name==?([^,]+)/.exec(query.get('fieldSelector') ?? '');
  if (!a.name && byName && (a.verb === 'list' || a.verb === 'watch')) a.name = byName[1];
  return a;
}

const has = (list: string[] | undefined, v: string, all = '*') => (list ?? []).some((x) => x === all || x === v);

function resourceMatches(rule: PolicyRule, a: Attributes): boolean {
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return (rule.resources ?? []).some(
    (r) => r === '*' || r === combined || (a.subresource !== '' && r === `*/${a.subresource}`),
  );
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))),
  );
}

/** One rule against one request, as plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows. */
export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  const names = rule.resourceNames ?? [];
  return has(rule.apiGroups, a.apiGroup) && resourceMatches(rule, a) && (names.length === 0 || names.includes(a.name));
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function appliesTo(user: UserInfo, subjects: Subject[] | undefined, bindingNs: string): boolean {
  return (subjects ?? []).some((s) => {
    if (s.kind === 'User') return s.name === user.name;
    if (s.kind === 'Group') return user.groups.includes(s.name);
    // A ServiceAccount subject without a namespace means the binding's own (RoleBinding only).
    if (s.kind === 'ServiceAccount') return user.name === `system:serviceaccount:${s.namespace || bindingNs}:${s.name}`;
    return false;
  });
}

const RBAC = 'rbac.authorization.k8s.io/v1';

export class Authorizer {
  private readonly key = randomBytes(32);

  constructor(private readonly store: MemStore) {}

  /** Rules that apply to the user in a namespace: ClusterRoleBindings everywhere, RoleBindings in it. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const rules: PolicyRule[] = [];
    const roleRules = (kind: string, name: string, ns?: string) => {
      const role =
        kind === 'ClusterRole'
          ? this.store.get(`${RBAC}/clusterroles`, undefined, name)
          : kind === 'Role' && ns
            ? this.store.get(`${RBAC}/roles`, ns, name)
            : undefined;
      rules.push(...((role?.rules as PolicyRule[] | undefined) ?? []));
    };
    for (const b of this.store.list(`${RBAC}/clusterrolebindings`).items) {
      if (b.roleRef?.kind === 'ClusterRole' && appliesTo(user, b.subjects, ''))
        roleRules('ClusterRole', b.roleRef.name);
    }
    if (namespace) {
      for (const b of this.store.list(`${RBAC}/rolebindings`, namespace).items) {
        if (appliesTo(user, b.subjects, namespace)) roleRules(b.roleRef?.kind, b.roleRef?.name, namespace);
      }
    }
    return rules;
  }

  allowed(a: Attributes): boolean {
    if (a.user.groups.includes(MASTERS)) return true;
    return this.rulesFor(a.user, a.namespace).some((r) => ruleAllows(a, r));
  }

  /** 403 with the apiserver's message (responsewriters/errors.go forbiddenMessage + apierrors.NewForbidden). */
  forbidden(a: Attributes): ApiError {
    if (!a.resourceRequest)
      return new ApiError(403, 'Forbidden', `forbidden: User "${a.user.name}" cannot ${a.verb} path "${a.path}"`, {});
    const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
    const why = `User "${a.user.name}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" ${scope}`;
    const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
    const subject = a.name ? `${qualified} "${a.name}"` : qualified;
    return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${why}`, {
      ...(a.name ? { name: a.name } : {}),
      ...(a.apiGroup ? { group: a.apiGroup } : {}),
      kind: a.resource,
    });
  }

  check(a: Attributes): void {
    if (!this.allowed(a)) throw this.forbidden(a);
  }

  /** The user behind a request's bearer token; no token is system:anonymous; an unknown one 401. */
  authenticate(req: IncomingMessage): UserInfo {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    if (m[1] === ADMIN_TOKEN) return { name: 'kubernetes-admin', groups: [MASTERS, 'system:authenticated'] };
    const user = this.verifyToken(m[1]);
    if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    return user;
  }

  /** A bound ServiceAccount token (JWT-shaped, HMAC-signed): valid while the ServiceAccount with that uid exists. */
  issueToken(
    namespace: string,
    name: string,
    expirationSeconds = 3600,
  ): { token: string; expirationTimestamp: string } {
    const sa = this.store.get('v1/serviceaccounts', namespace, name);
    if (!sa)
      throw new ApiError(404, 'NotFound', `serviceaccounts "${name}" not found`, { name, kind: 'serviceaccounts' });
    if (expirationSeconds < 600)
      throw new ApiError(
        422,
        'Invalid',
        `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`,
      );
    const exp = Math.floor(Date.now() / 1000) + expirationSeconds;
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `system:serviceaccount:${namespace}:${name}`, exp, 'kubernetes.io': { namespace, serviceaccount: { name, uid: sa.metadata.uid } } })}`;
    return {
      token: `${body}.${this.sign(body)}`,
      expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private verifyToken(token: string): UserInfo | undefined {
    const [h, p, sig] = token.split('.');
    if (!sig || this.sign(`${h}.${p}`) !== sig) return undefined;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as {
      exp: number;
      'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
    };
    const { namespace, serviceaccount } = claims['kubernetes.io'];
    if (claims.exp * 1000 < Date.now()) return undefined;
    if (this.store.get('v1/serviceaccounts', namespace, serviceaccount.name)?.metadata.uid !== serviceaccount.uid)
      return undefined;
    return {
      name: `system:serviceaccount:${namespace}:${serviceaccount.name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    };
  }

  /** POST .../selfsubjectaccessreviews: the same decision for the caller, asked in advance. */
  selfSubjectAccessReview(user: UserInfo, body: KubeObject): KubeObject {
    const ra = body?.spec?.resourceAttributes;
    const nra = body?.spec?.nonResourceAttributes;
    if (!ra && !nra)
      throw new ApiError(
        422,
        'Invalid',
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      );
    const a: Attributes = ra
      ? {
          user,
          verb: ra.verb ?? '',
          resourceRequest: true,
          path: '',
          apiGroup: ra.group ?? '',
          resource: ra.resource ?? '',
          subresource: ra.subresource ?? '',
          namespace: ra.namespace ?? '',
          name: ra.name ?? '',
        }
      : {
          user,
          verb: nra.verb ?? '',
          resourceRequest: false,
          path: nra.path ?? '',
          apiGroup: '',
          resource: '',
          subresource: '',
          namespace: '',
          name: '',
        };
    const allowed = this.allowed(a);
    return {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: { name: '', creationTimestamp: null } as never,
      spec: body.spec,
      status: { allowed, ...(allowed ? { reason: 'RBAC: allowed' } : {}) },
    };
  }
}

const readRule = (urls: string[]): PolicyRule => ({ verbs: ['get'], nonResourceURLs: urls });
const BOOTSTRAP_ROLES: Record<string, PolicyRule[]> = {
  'cluster-admin': [
    { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    { verbs: ['*'], nonResourceURLs: ['*'] },
  ],
  'system:discovery': [
    readRule([
      '/api',
      '/api/*',
      '/apis',
      '/apis/*',
      '/healthz',
      '/livez',
      '/openapi',
      '/openapi/*',
      '/readyz',
      '/version',
      '/version/',
    ]),
  ],
  'system:public-info-viewer': [readRule(['/healthz', '/livez', '/readyz', '/version', '/version/'])],
  'system:basic-user': [
    {
      verbs: ['create'],
      apiGroups: ['authorization.k8s.io'],
      resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
    },
    { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
  ],
};
const BOOTSTRAP_BINDINGS: Record<string, string[]> = {
  'cluster-admin': [MASTERS],
  'system:discovery': ['system:authenticated'],
  'system:public-info-viewer': ['system:authenticated', 'system:unauthenticated'],
  'system:basic-user': ['system:authenticated'],
};

/** The default ClusterRoles and bindings kube-apiserver reconciles at start (bootstrappolicy/policy.go). */
export function seedBootstrapPolicy(store: MemStore): void {
  const labels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
  const annotations = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
  for (const [name, rules] of Object.entries(BOOTSTRAP_ROLES)) {
    if (!store.get(`${RBAC}/clusterroles`, undefined, name))
      store.create(`${RBAC}/clusterroles`, {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name, labels, annotations },
        rules,
      });
  }
  for (const [name, groups] of Object.entries(BOOTSTRAP_BINDINGS)) {
    if (store.get(`${RBAC}/clusterrolebindings`, undefined, name)) continue;
    const subjects = groups.map((g) => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: g }));
    store.create(`${RBAC}/clusterrolebindings`, {
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name, labels, annotations },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    });
  }
}

/**
 * Answers the two authentication/authorization APIs the playground serves: TokenRequest
 * (POST .../serviceaccounts/<name>/token) and SelfSubjectAccessReview. Undefined: not one of them.
 * Without an authorizer every review is allowed (the AlwaysAllow mode) and no token is issued.
 */
export function authApiAnswer(
  authz: Authorizer | undefined,
  user: UserInfo,
  method: string,
  path: string,
  body: unknown,
): KubeObject | undefined {
  if (method !== 'POST') return undefined;
  if (path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
    // `kubectl auth whoami`: the authenticated user as the server sees it.
    const userInfo = { username: user.name, groups: user.groups };
    return {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: { name: '' },
      status: { userInfo },
    };
  }
  if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    const b = (body ?? {}) as KubeObject;
    if (authz) return authz.selfSubjectAccessReview(user, b);
    return {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: { name: '' },
      spec: b.spec,
      status: { allowed: true },
    };
  }
  const tr = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(path);
  if (!tr) return undefined;
  if (!authz)
    throw new ApiError(
      404,
      'NotFound',
      'the server could not find the requested resource (serviceaccounts/token): start the playground with rbac: true',
    );
  const [namespace, name] = [decodeURIComponent(tr[1]), decodeURIComponent(tr[2])];
  const spec = ((body ?? {}) as KubeObject).spec ?? {};
  const { token, expirationTimestamp } = authz.issueToken(namespace, name, spec.expirationSeconds ?? 3600);
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name, namespace },
    spec: {
      audiences: spec.audiences ?? ['https://kubernetes.default.svc'],
      expirationSeconds: spec.expirationSeconds ?? 3600,
    },
    status: { token, expirationTimestamp },
  };
}
