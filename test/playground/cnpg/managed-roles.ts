// spec.managed.roles: CREATE/ALTER/DROP ROLE on the primary, passwords from basic-auth Secrets,
// reported in status.managedRolesStatus like CNPG's instance manager does.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, patchStatus, secretValue } from './context.js';
import { sqlIdent, sqlLiteral, type PgInstance } from './instance.js';

const RESERVED = ['postgres', 'streaming_replica'];
const applied = new Map<string, string>(); // cluster uid -> fingerprint of what was last applied

function roleOptions(r: any, password: string | undefined | null): string {
  const flag = (on: boolean | undefined, name: string, dflt = false) => ((on ?? dflt) ? name : `NO${name}`);
  const opts = [
    flag(r.login, 'LOGIN'),
    flag(r.superuser, 'SUPERUSER'),
    flag(r.createdb, 'CREATEDB'),
    flag(r.createrole, 'CREATEROLE'),
    flag(r.inherit, 'INHERIT', true),
    flag(r.replication, 'REPLICATION'),
    flag(r.bypassrls, 'BYPASSRLS'),
    `CONNECTION LIMIT ${Number(r.connectionLimit ?? -1)}`,
  ];
  if (password === null) opts.push('PASSWORD NULL');
  else if (password !== undefined) opts.push(`PASSWORD ${sqlLiteral(password)}`);
  if (r.validUntil) opts.push(`VALID UNTIL ${sqlLiteral(r.validUntil)}`);
  return opts.join(' ');
}

export async function reconcileManagedRoles(ctx: Ctx, cluster: KubeObject, primary: PgInstance): Promise<void> {
  const roles: any[] = cluster.spec?.managed?.roles ?? [];
  const ns = cluster.metadata.namespace!;
  const secrets = roles.map((r) => (r.passwordSecret?.name ? ctx.store.get(GVR.secret, ns, r.passwordSecret.name) : undefined));
  const fingerprint = JSON.stringify([roles, secrets.map((s) => s?.metadata.resourceVersion ?? null)]);
  const uid = cluster.metadata.uid!;
  if (applied.get(uid) === fingerprint) return;

  const reconciled: string[] = [];
  const cannotReconcile: Record<string, string[]> = {};
  const passwordStatus: Record<string, { transactionID?: number; resourceVersion?: string }> = {};
  for (let i = 0; i < roles.length; i++) {
    const r = roles[i];
    const name: string = r.name;
    try {
      if (RESERVED.includes(name)) throw new Error(`role ${name} is reserved`);
      const exists = (await primary.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).length > 0;
      if ((r.ensure ?? 'present') === 'absent') {
        if (exists) await primary.query(`DROP ROLE ${sqlIdent(name)}`);
        reconciled.push(name);
        continue;
      }
      let password: string | undefined | null;
      const secret = secrets[i];
      if (r.disablePassword) password = null;
      else if (r.passwordSecret?.name) {
        if (!secret) throw new Error(`secrets "${r.passwordSecret.name}" not found`);
        const user = secretValue(secret, 'username');
        if (user !== undefined && user !== name) throw new Error(`wrong username '${user}' in secret, expected '${name}'`);
        password = secretValue(secret, 'password');
        if (password === undefined) throw new Error(`missing key password in secret ${r.passwordSecret.name}`);
      }
      await primary.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${sqlIdent(name)} WITH ${roleOptions(r, password)}`);
      if (r.comment !== undefined) await primary.query(`COMMENT ON ROLE ${sqlIdent(name)} IS ${sqlLiteral(r.comment)}`);
      const current = (await primary.query<{ rolname: string }>('SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1', [name])).map((x) => x.rolname);
      const want: string[] = r.inRoles ?? [];
      for (const g of want.filter((g) => !current.includes(g))) await primary.query(`GRANT ${sqlIdent(g)} TO ${sqlIdent(name)}`);
      for (const g of current.filter((g) => !want.includes(g))) await primary.query(`REVOKE ${sqlIdent(g)} FROM ${sqlIdent(name)}`);
      if (secret) {
        const [{ xid }] = await primary.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        passwordStatus[name] = { transactionID: Number(xid), resourceVersion: secret.metadata.resourceVersion };
      }
      reconciled.push(name);
    } catch (err) {
      cannotReconcile[name] = [(err as Error).message];
    }
  }
  const all = await primary.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1");
  const managed = new Set(roles.map((r) => r.name));
  const { owner } = { owner: cluster.spec?.bootstrap?.initdb?.owner ?? cluster.spec?.bootstrap?.recovery?.owner ?? 'app' };
  const notManaged = all.map((x) => x.rolname).filter((n) => !managed.has(n) && !RESERVED.includes(n) && n !== owner);
  patchStatus(ctx.store, GVR.cluster, cluster, (s) => {
    s.managedRolesStatus = {
      byStatus: {
        ...(reconciled.length ? { reconciled: reconciled.filter((n) => (roles.find((r) => r.name === n)?.ensure ?? 'present') === 'present') } : {}),
        ...(notManaged.length ? { 'not-managed': notManaged } : {}),
        reserved: RESERVED,
        ...(Object.keys(cannotReconcile).length ? { 'pending-reconciliation': Object.keys(cannotReconcile) } : {}),
      },
      ...(Object.keys(cannotReconcile).length ? { cannotReconcile } : {}),
      ...(Object.keys(passwordStatus).length ? { passwordStatus } : {}),
    };
  });
  // failures are retried on the next pass; success is remembered until spec or secrets change
  if (!Object.keys(cannotReconcile).length) applied.set(uid, fingerprint);
}
