// The subscriber side (the CNPG cluster): the subscription, its per-table sync states and its
// apply worker's progress, read through ReadOnlyDb. Only the columns of pg_subscription that
// non-superusers may read are selected (subconninfo is revoked from them).
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { listUserTables, toNumber, type UserTable } from './catalog.js';
import type { QualifiedTable } from './tables.js';

export interface Subscription {
  oid: number;
  name: string;
  enabled: boolean;
  /** The publisher-side slot (defaults to the subscription name; NONE -> null). */
  slotName: string | null;
  publications: string[];
}

export interface SubscribedTable extends QualifiedTable {
  /** pg_subscription_rel.srsubstate: i init, d data copy, f finished copy, s synchronized, r ready. */
  state: string;
}

export interface ApplyWorker {
  pid: number;
  /** pg_wal_lsn_diff(received_lsn, latest_end_lsn). */
  lagBytes?: number;
  /** Seconds since last_msg_receipt_time. */
  messageAgeSeconds?: number;
  receivedLsn?: string;
  latestEndLsn?: string;
}

export interface SubscriberState {
  subscription?: Subscription;
  tables: SubscribedTable[];
  /** Absent when the apply worker is not running (subscription disabled, or crashing). */
  worker?: ApplyWorker;
  userTables: UserTable[];
}

export const STATE_NAMES: Record<string, string> = {
  i: 'init',
  d: 'data copy',
  f: 'finished copy',
  s: 'synchronized',
  r: 'ready',
};

const SUBSCRIPTION_SQL = `
SELECT s.oid::int AS oid, s.subname, s.subenabled, s.subslotname, s.subpublications
  FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
 WHERE s.subname = $1 AND d.datname = current_database()`;

const RELS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, sr.srsubstate::text AS state
  FROM pg_subscription_rel sr JOIN pg_class c ON c.oid = sr.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE sr.srsubid = $1
 ORDER BY 1, 2`;

const WORKER_SQL = `
SELECT pid, received_lsn::text AS received_lsn, latest_end_lsn::text AS latest_end_lsn,
       pg_wal_lsn_diff(received_lsn, latest_end_lsn)::text AS lag_bytes,
       extract(epoch FROM clock_timestamp() - last_msg_receipt_time)::float8 AS message_age
  FROM pg_stat_subscription WHERE subid = $1 AND relid IS NULL AND pid IS NOT NULL`;

export async function readSubscriber(db: ReadOnlyDb, subscription: string): Promise<SubscriberState> {
  const [sub] = await db.query<{
    oid: number;
    subname: string;
    subenabled: boolean;
    subslotname: string | null;
    subpublications: string[];
  }>(SUBSCRIPTION_SQL, [subscription]);
  const userTables = await listUserTables(db);
  if (!sub) return { tables: [], userTables };
  const tables = await db.query<SubscribedTable>(RELS_SQL, [sub.oid]);
  const [w] = await db.query<Record<string, string | number | null>>(WORKER_SQL, [sub.oid]);
  return {
    subscription: {
      oid: sub.oid,
      name: sub.subname,
      enabled: sub.subenabled,
      slotName: sub.subslotname,
      publications: sub.subpublications,
    },
    tables: tables.map((t) => ({ schema: t.schema, name: t.name, state: t.state })),
    worker: w && {
      pid: Number(w.pid),
      lagBytes: toNumber(w.lag_bytes),
      messageAgeSeconds: toNumber(w.message_age),
      receivedLsn: (w.received_lsn as string | null) ?? undefined,
      latestEndLsn: (w.latest_end_lsn as string | null) ?? undefined,
    },
    userTables,
  };
}
