// The Secrets CNPG writes for a cluster: -app (and -superuser with enableSuperuserAccess),
// plus stub -ca / -server / -replication (TLS is not modelled: pg_hba trusts loopback replication).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, L, b64, ownerRef, randomPassword, secretValue, upsert } from './context.js';

export interface Credentials {
  username: string;
  password: string;
  dbname: string;
}

function connectionData(cluster: KubeObject, c: Credentials): Record<string, string> {
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
    'fqdn-uri': `postgresql://${u}:${p}@${host}.${ns}.svc.cluster.local:5432/${c.dbname}`,
    'fqdn-jdbc-uri': `jdbc:postgresql://${host}.${ns}.svc.cluster.local:5432/${c.dbname}?password=${p}&user=${u}`,
  };
}

function secretObject(cluster: KubeObject, name: string, type: string, data: Record<string, string>, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: { [L.cluster]: cluster.metadata.name, ...labels },
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

/** Ensures the operator-made secrets; returns the application credentials. */
export function ensureSecrets(ctx: Ctx, cluster: KubeObject): { app?: Credentials; superuser?: Credentials } {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name;
  const { database, owner } = bootstrapDb(cluster);
  let app: Credentials | undefined;

  const userSecret = cluster.spec?.bootstrap?.initdb?.secret?.name;
  if (userSecret) {
    const s = ctx.store.get(GVR.secret, ns, userSecret);
    if (s) app = { username: secretValue(s, 'username') ?? owner, password: secretValue(s, 'password') ?? '', dbname: database };
  } else {
    const existing = ctx.store.get(GVR.secret, ns, `${name}-app`);
    const password = secretValue(existing, 'password') ?? randomPassword();
    app = { username: owner, password, dbname: database };
    upsert(ctx.store, GVR.secret, secretObject(cluster, `${name}-app`, 'kubernetes.io/basic-auth', connectionData(cluster, app), { 'cnpg.io/userType': 'app', 'cnpg.io/reload': 'true' }));
  }

  let superuser: Credentials | undefined;
  if (cluster.spec?.enableSuperuserAccess) {
    const existing = ctx.store.get(GVR.secret, ns, `${name}-superuser`);
    superuser = { username: 'postgres', password: secretValue(existing, 'password') ?? randomPassword(), dbname: '*' };
    upsert(ctx.store, GVR.secret, secretObject(cluster, `${name}-superuser`, 'kubernetes.io/basic-auth', connectionData(cluster, superuser), { 'cnpg.io/userType': 'superuser', 'cnpg.io/reload': 'true' }));
  } else {
    const existing = ctx.store.get(GVR.secret, ns, `${name}-superuser`);
    // CNPG deletes the superuser secret it made when access is disabled again.
    if (existing?.metadata.ownerReferences?.some((o) => o.uid === cluster.metadata.uid)) ctx.store.delete(GVR.secret, ns, `${name}-superuser`);
  }

  const stub = (suffix: string, type: string, keys: string[]) =>
    upsert(ctx.store, GVR.secret, secretObject(cluster, `${name}-${suffix}`, type, Object.fromEntries(keys.map((k) => [k, `playground ${suffix} ${k}`])), { 'cnpg.io/reload': 'true' }));
  stub('ca', 'Opaque', ['ca.crt', 'ca.key']);
  stub('server', 'kubernetes.io/tls', ['tls.crt', 'tls.key']);
  stub('replication', 'kubernetes.io/tls', ['tls.crt', 'tls.key']);
  return { app, superuser };
}
