// The publisher side: reached directly by host/port from a connection Secret (an external
// server such as a managed Postgres, or another CNPG cluster), read through ReadOnlyDb only.
import { InputError } from '../inputs.js';
import type { ConnInfo } from '../postgres/conn-info.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { listUserTables, toNumber, type UserTable } from './catalog.js';
import type { QualifiedTable } from './tables.js';

/** Builds the connection from the Secret's keys (host, port, username|user, password, dbname) or its `uri`. */
export function publisherConnInfo(secret: Record<string, string>, ref: string): ConnInfo {
  const fromUri: Partial<ConnInfo> & { sslmode?: string } = {};
  if (secret.uri) {
    let url: URL;
    try {
      url = new URL(secret.uri);
    } catch {
      throw new InputError(
        'publisher-secret',
        `Secret ${ref} has a 'uri' that is not a URL; use postgresql://user:password@host:port/dbname.`,
      );
    }
    if (!/^postgres(ql)?:$/.test(url.protocol))
      throw new InputError('publisher-secret', `Secret ${ref} has a 'uri' that is not postgresql://.`);
    fromUri.host = url.hostname || undefined;
    fromUri.port = url.port ? Number(url.port) : undefined;
    fromUri.user = url.username ? decodeURIComponent(url.username) : undefined;
    fromUri.password = url.password ? decodeURIComponent(url.password) : undefined;
    fromUri.database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined;
    fromUri.sslmode = url.searchParams.get('sslmode') ?? undefined;
  }
  const host = secret.host || fromUri.host;
  const user = secret.username || secret.user || fromUri.user;
  const password = secret.password || fromUri.password;
  const database = secret.dbname || secret.database || fromUri.database;
  const port = secret.port ? Number(secret.port) : (fromUri.port ?? 5432);
  const missing = [!host && 'host', !user && 'username', !password && 'password', !database && 'dbname'].filter(
    Boolean,
  );
  if (missing.length) {
    throw new InputError(
      'publisher-secret',
      `Secret ${ref} lacks ${missing.join(', ')}; give keys host, port, username, ` +
        `password, dbname (or a uri postgresql://user:password@host:port/dbname).`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InputError('publisher-secret', `Secret ${ref} has port '${secret.port}', not a TCP port.`);
  return {
    host: host!,
    port,
    user: user!,
    password: password!,
    database: database!,
    ssl: sslFor(secret.sslmode || fromUri.sslmode, ref),
  };
}

/** libpq sslmode names; without one the connection is plain (set sslmode=require for managed servers). */
function sslFor(mode: string | undefined, ref: string): ConnInfo['ssl'] {
  switch (mode ?? 'disable') {
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      throw new InputError(
        'publisher-secret',
        `Secret ${ref} has sslmode '${mode}'; use disable, require, verify-ca or verify-full.`,
      );
  }
}

export interface Publication {
  name: string;
  allTables: boolean;
  /** UPDATE/DELETE published: only then does a PK-less table need a replica identity. */
  publishesUpdates: boolean;
}

export interface SlotState {
  name: string;
  active: boolean;
  /** reserved | extended | unreserved | lost (null for a slot never reserved). */
  walStatus: string | null;
  /** pg_current_wal_lsn() - confirmed_flush_lsn: WAL the publisher keeps for this subscriber. */
  retainedBytes?: number;
  /** Bytes left before max_slot_wal_keep_size invalidates the slot (null: unlimited). */
  safeWalSize?: number;
  type: string;
  database: string | null;
}

export interface PublisherState {
  publication?: Publication;
  published: QualifiedTable[];
  slot?: SlotState;
  tables: UserTable[];
}

const PUBLISHED_SQL = `
SELECT DISTINCT rn.nspname AS schema, r.relname AS name
  FROM pg_publication_tables pt
  JOIN pg_namespace n ON n.nspname = pt.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
  JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
  JOIN pg_namespace rn ON rn.oid = r.relnamespace
 WHERE pt.pubname = $1
 ORDER BY 1, 2`;

const SLOT_SQL = `
SELECT slot_name, slot_type, database, active, wal_status, safe_wal_size::text AS safe_wal_size,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS retained_bytes
  FROM pg_replication_slots WHERE slot_name = $1`;

export async function readPublisher(db: ReadOnlyDb, publication: string, slotName: string): Promise<PublisherState> {
  const [pub] = await db.query<{ pubname: string; puballtables: boolean; pubupdate: boolean; pubdelete: boolean }>(
    'SELECT pubname, puballtables, pubupdate, pubdelete FROM pg_publication WHERE pubname = $1',
    [publication],
  );
  const published = pub ? await db.query<{ schema: string; name: string }>(PUBLISHED_SQL, [publication]) : [];
  const [slot] = await db.query<Record<string, string | boolean | null>>(SLOT_SQL, [slotName]);
  const tables = await listUserTables(db);
  return {
    publication: pub && {
      name: pub.pubname,
      allTables: pub.puballtables,
      publishesUpdates: pub.pubupdate || pub.pubdelete,
    },
    published: published.map((r) => ({ schema: r.schema, name: r.name })),
    slot: slot && {
      name: String(slot.slot_name),
      type: String(slot.slot_type),
      database: (slot.database as string | null) ?? null,
      active: slot.active === true,
      walStatus: (slot.wal_status as string | null) ?? null,
      retainedBytes: toNumber(slot.retained_bytes),
      safeWalSize: toNumber(slot.safe_wal_size),
    },
    tables,
  };
}
