// Catalog reads both sides share: the user tables of a database, with what coverage needs
// (persistence for unlogged tables, primary key and replica identity for PK-less tables).
import type { ReadOnlyDb } from '../postgres/readonly.js';
import type { QualifiedTable } from './tables.js';

export interface UserTable extends QualifiedTable {
  unlogged: boolean;
  hasPrimaryKey: boolean;
  /** pg_class.relreplident: d default (the PK), n nothing, f full, i index. */
  replicaIdentity: 'd' | 'n' | 'f' | 'i';
  hasIdentityIndex: boolean;
}

// Partitions are covered through their root (one logical table); temp tables never replicate.
const USER_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relpersistence = 'u' AS unlogged,
       c.relreplident AS replica_identity,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid) AS has_identity_index
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
 ORDER BY 1, 2`;

export async function listUserTables(db: ReadOnlyDb): Promise<UserTable[]> {
  const rows = await db.query<{
    schema: string;
    name: string;
    unlogged: boolean;
    replica_identity: UserTable['replicaIdentity'];
    has_pk: boolean;
    has_identity_index: boolean;
  }>(USER_TABLES_SQL);
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    unlogged: r.unlogged,
    hasPrimaryKey: r.has_pk,
    replicaIdentity: r.replica_identity,
    hasIdentityIndex: r.has_identity_index,
  }));
}

/** pg_wal_lsn_diff and friends return numeric: read as text, convert once. */
export function toNumber(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
