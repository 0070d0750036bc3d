// spec.managed.roles: CREATE/ALTER/DROP ROLE on the primary, passwords from basic-auth Secrets,
// reported in status.managedRolesStatus like CNPG's instance manager does.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, patchStatus, secretValue } from './context.js';
import { sqlIdent, sqlLiteral, type PgInstance } from './postgres.js';

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

interface RoleResults {
  reconciled: string[];
  cannotReconcile: Record<string, string[]>;
  passwordStatus: Record<string, { transactionID?: number; resourceVersion?: string }>;
}

function rolePassword(r: any, secret: KubeObject | undefined): string | undefined | null {
  if (r.disablePassword) return null;
  if (!r.passwordSecret?.name) return undefined;
  if (!secret) throw new Error(`secrets "${r.passwordSecret.name}" not found`);
  const user = secretValue(secret, 'username');
  if (user !== undefined && user !== r.name)
    throw new Error(`wrong username '${user}' in secret, expected '${r.name}'`);
  const password = secretValue(secret, 'password');
  if (password === undefined) throw new Error(`missing key password in secret ${r.passwordSecret.name}`);
  return password;
}

/** Applies one role (CREATE/ALTER/DROP, comment, memberships); returns whether it is present. */
async function applyRole(primary: PgInstance, r: any, secret: KubeObject | undefined, out: RoleResults): Promise<void> {
  const name: string = r.name;
  if (RESERVED.includes(name)) throw new Error(`role ${name} is reserved`);
  const exists = (await primary.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).length > 0;
  if ((r.ensure ?? 'present') === 'absent') {
    if (exists) await primary.query(`DROP ROLE ${sqlIdent(name)}`);
    return;
  }
  await primary.query(
    `${exists ? 'ALTER' : 'CREATE'} ROLE ${sqlIdent(name)} WITH ${roleOptions(r, rolePassword(r, secret))}`,
  );
  if (r.comment !== undefined) await primary.query(`COMMENT ON ROLE ${sqlIdent(name)} IS ${sqlLiteral(r.comment)}`);
  const current = (
    await primary.query<{ rolname: string }>(
      'SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1',
      [name],
    )
  ).map((x) => x.rolname);
  const want: string[] = r.inRoles ?? [];
  for (const g of want.filter((g) => !current.includes(g)))
    await primary.query(`GRANT ${sqlIdent(g)} TO ${sqlIdent(name)}`);
  for (const g of current.filter((g) => !want.includes(g)))
    await primary.query(`REVOKE ${sqlIdent(g)} FROM ${sqlIdent(name)}`);
  if (secret) {
    const [{ xid }] = await primary.query<{ xid: string }>('SELECT txid_current()::text AS xid');
    out.passwordStatus[name] = { transactionID: Number(xid), resourceVersion: secret.metadata.resourceVersion };
  }
}

async function writeRolesStatus(
  ctx: Ctx,
  cluster: KubeObject,
  primary: PgInstance,
  roles: any[],
  out: RoleResults,
): Promise<void> {
  const all = await primary.query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1",
  );
  const managed = new Set(roles.map((r) => r.name));
  const owner = cluster.spec?.bootstrap?.initdb?.owner ?? cluster.spec?.bootstrap?.recovery?.owner ?? 'app';
  const notManaged = all.map((x) => x.rolname).filter((n) => !managed.has(n) && !RESERVED.includes(n) && n !== owner);
  const pending = Object.keys(out.cannotReconcile);
  const present = out.reconciled.filter((n) => (roles.find((r) => r.name === n)?.ensure ?? 'present') === 'present');
  patchStatus(ctx.store, GVR.cluster, cluster, (s) => {
    s.managedRolesStatus = {
      byStatus: {
        ...(out.reconciled.length ? { reconciled: present } : {}),
        ...(notManaged.length ? { 'not-managed': notManaged } : {}),
        reserved: RESERVED,
        ...(pending.length ? { 'pending-reconciliation': pending } : {}),
      },
      ...(pending.length ? { cannotReconcile: out.cannotReconcile } : {}),
      ...(Object.keys(out.passwordStatus).length ? { passwordStatus: out.passwordStatus } : {}),
    };
  });
}

export async function reconcileManagedRoles(ctx: Ctx, cluster: KubeObject, primary: PgInstance): Promise<void> {
  const roles: any[] = cluster.spec?.managed?.roles ?? [];
  const ns = cluster.metadata.namespace!;
  const secrets = roles.map((r) =>
    r.passwordSecret?.name ? ctx.store.get(GVR.secret, ns, r.passwordSecret.name) : undefined,
  );
  const fingerprint = JSON.stringify([roles, secrets.map((s) => s?.metadata.resourceVersion ?? null)]);
  const uid = cluster.metadata.uid!;
  if (applied.get(uid) === fingerprint) return;
  const out: RoleResults = { reconciled: [], cannotReconcile: {}, passwordStatus: {} };
  for (let i = 0; i < roles.length; i++) {
    try {
      await applyRole(primary, roles[i], secrets[i], out);
      out.reconciled.push(roles[i].name);
    } catch (err) {
      out.cannotReconcile[roles[i].name] = [(err as Error).message];
    }
  }
  await writeRolesStatus(ctx, cluster, primary, roles, out);
  // failures are retried on the next pass; success is remembered until spec or secrets change
  if (!Object.keys(out.cannotReconcile).length) applied.set(uid, fingerprint);
}
