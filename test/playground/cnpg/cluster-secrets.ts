// The Secrets CNPG writes for a cluster: -app (and -superuser with enableSuperuserAccess),
// plus stub -ca / -server / -replication (TLS is not modelled: pg_hba trusts loopback replication).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, b64, ownerRef, randomPassword, secretValue, upsert } from './context.js';
import { hasAppLabels, inherited } from './cluster-labels.js';
import { hasFqdnSecretKeys } from './versions.js';

/** From 1.28.0 user secrets carry app.kubernetes.io/managed-by (pkg/specs/secrets.go). */
const managedBy = (ctx: Ctx): Record<string, string> =>
  hasAppLabels(ctx) ? { 'app.kubernetes.io/managed-by': 'cloudnative-pg' } : {};

export interface Credentials {
  username: string;
  password: string;
  dbname: string;
}

function connectionData(ctx: Ctx, cluster: KubeObject, c: Credentials): Record<string, string> {
  const fqdn = hasFqdnSecretKeys(ctx.settings.version);
  const ns = cluster.metadata.namespace!;
  const host = `${cluster.metadata.name}-rw`;
  const u = encodeURIComponent(c.username);
  const p = encodeURIComponent(c.password);
  return {
    username: c.username,
    user: c.username,
    password: c.password,
    dbname: c.dbname,
    host,
    port: '5432',
    pgpass: `${host}:5432:${c.dbname}:${c.username}:${c.password}\n`,
    uri: `postgresql://${u}:${p}@${host}.${ns}:5432/${c.dbname}`,
    'jdbc-uri': `jdbc:postgresql://${host}.${ns}:5432/${c.dbname}?password=${p}&user=${u}`,
    // pkg/specs/secrets.go: the fqdn-* keys exist from 1.25.3, 1.26.1 and 1.27.0 (backport #7852)
    ...(fqdn
      ? {
          'fqdn-uri': `postgresql://${u}:${p}@${host}.${ns}.svc.cluster.local:5432/${c.dbname}`,
          'fqdn-jdbc-uri': `jdbc:postgresql://${host}.${ns}.svc.cluster.local:5432/${c.dbname}?password=${p}&user=${u}`,
        }
      : {}),
  };
}

function secretObject(
  ctx: Ctx,
  cluster: KubeObject,
  name: string,
  type: string,
  data: Record<string, string>,
  labels: Record<string, string>,
): KubeObject {
  const meta = inherited(ctx, cluster);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: { ...meta.labels, ...labels },
      annotations: meta.annotations,
      ownerReferences: [ownerRef(cluster)],
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

export function bootstrapDb(cluster: KubeObject): { database: string; owner: string } {
  const b = cluster.spec?.bootstrap ?? {};
  const section = b.initdb ?? b.recovery ?? b.pg_basebackup ?? {};
  const database = section.database ?? 'app';
  return { database, owner: section.owner ?? database };
}

/** GetApplicationSecretName (api/v1/cluster_funcs.go): recovery, pg_basebackup, initdb `secret`, else `<cluster>-app`. */
export function appSecretName(cluster: KubeObject): { name: string; userProvided: boolean } {
  const b = cluster.spec?.bootstrap ?? {};
  const given: string | undefined = b.recovery?.secret?.name || b.pg_basebackup?.secret?.name || b.initdb?.secret?.name;
  return given ? { name: given, userProvided: true } : { name: `${cluster.metadata.name}-app`, userProvided: false };
}

/** GetSuperuserSecretName: spec.superuserSecret.name, else `<cluster>-superuser`. */
export function superuserSecretName(cluster: KubeObject): { name: string; userProvided: boolean } {
  const given: string | undefined = cluster.spec?.superuserSecret?.name;
  return given
    ? { name: given, userProvided: true }
    : { name: `${cluster.metadata.name}-superuser`, userProvided: false };
}

const owns = (cluster: KubeObject, o: KubeObject | undefined) =>
  !!o?.metadata.ownerReferences?.some((r) => r.uid === cluster.metadata.uid);

function ensureAppSecret(ctx: Ctx, cluster: KubeObject): Credentials | undefined {
  const { database, owner } = bootstrapDb(cluster);
  const { name, userProvided } = appSecretName(cluster);
  const existing = ctx.store.get(GVR.secret, cluster.metadata.namespace, name);
  if (userProvided)
    return existing
      ? {
          username: secretValue(existing, 'username') ?? owner,
          password: secretValue(existing, 'password') ?? '',
          dbname: database,
        }
      : undefined;
  const app = { username: owner, password: secretValue(existing, 'password') ?? randomPassword(), dbname: database };
  upsert(
    ctx.store,
    GVR.secret,
    secretObject(ctx, cluster, name, 'kubernetes.io/basic-auth', connectionData(ctx, cluster, app), {
      'cnpg.io/userType': 'app',
      'cnpg.io/reload': 'true',
      ...managedBy(ctx),
    }),
  );
  return app;
}

/**
 * reconcileSuperuserSecret (internal/controller/cluster_create.go): with enableSuperuserAccess and
 * no spec.superuserSecret, CNPG makes `<cluster>-superuser`; a user's secret is only read; with
 * access disabled the secret of that name goes if the Cluster owns it.
 */
function ensureSuperuserSecret(ctx: Ctx, cluster: KubeObject): Credentials | undefined {
  const ns = cluster.metadata.namespace;
  const { name, userProvided } = superuserSecretName(cluster);
  const existing = ctx.store.get(GVR.secret, ns, name);
  if (!cluster.spec?.enableSuperuserAccess) {
    if (owns(cluster, existing)) ctx.store.delete(GVR.secret, ns, name);
    return undefined;
  }
  const superuser = {
    username: 'postgres',
    password: secretValue(existing, 'password') ?? randomPassword(),
    dbname: '*',
  };
  if (userProvided) return existing ? superuser : undefined;
  upsert(
    ctx.store,
    GVR.secret,
    secretObject(ctx, cluster, name, 'kubernetes.io/basic-auth', connectionData(ctx, cluster, superuser), {
      'cnpg.io/userType': 'superuser',
      'cnpg.io/reload': 'true',
      ...managedBy(ctx),
    }),
  );
  return superuser;
}

/** Ensures the operator-made secrets; returns the application and superuser credentials. */
export function ensureSecrets(ctx: Ctx, cluster: KubeObject): { app?: Credentials; superuser?: Credentials } {
  const name = cluster.metadata.name;
  const app = ensureAppSecret(ctx, cluster);
  const superuser = ensureSuperuserSecret(ctx, cluster);
  const stub = (suffix: string, type: string, keys: string[]) =>
    upsert(
      ctx.store,
      GVR.secret,
      secretObject(
        ctx,
        cluster,
        `${name}-${suffix}`,
        type,
        Object.fromEntries(keys.map((k) => [k, `playground ${suffix} ${k}`])),
        { 'cnpg.io/reload': 'true' },
      ),
    );
  stub('ca', 'Opaque', ['ca.crt', 'ca.key']);
  stub('server', 'kubernetes.io/tls', ['tls.crt', 'tls.key']);
  stub('replication', 'kubernetes.io/tls', ['tls.crt', 'tls.key']);
  return { app, superuser };
}
