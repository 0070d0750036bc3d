// The same moment on a quiet live database, proven without waiting for the archive.
//
// Why waiting fails: the restore can stop at live's counting position L only once the segment
// holding L is archived, and archive_timeout switches a segment only when it holds WAL marked
// important; an idle server writes only unimportant records (running-xacts), so that segment is
// never switched until something else happens (CONFORMANCE.md, section moment: CheckArchiveTimeout).
//
// The argument (each step's PostgreSQL source is in CONFORMANCE.md, section moment):
//  1. C is live's latest checkpoint, read with pg_control_checkpoint() BEFORE the snapshot S is
//     taken, so C's record was inserted before S. C holds nextXid N (read while the checkpoint
//     starts) and oldestActiveXid A (GetOldestActiveTransactionId: the smallest xid still running,
//     else the next xid), both computed before C's record is inserted.
//  2. A = N: at that point no transaction with an xid below N was running, so every one of them
//     had ended. A transaction inserts its commit (or abort) record before it leaves the proc
//     array (CommitTransaction: RecordTransactionCommit, then ProcArrayEndTransaction), so every
//     commit or abort record of an xid below N lies before C's record. Prepared transactions keep
//     a proc-array entry, so they count as running.
//  3. At S, xmax = N and the next xid (age() of xmax, which reads the next xid and assigns none)
//     is N too: no xid at all was assigned between C and S. A commit record carries an assigned
//     xid, so between C's record and S there is no commit or abort record in the WAL. S sees
//     exactly the committed xids below N (xmax = N, no xid in flight).
//  4. The restore stops at T = max(C's record, the restored base backup's end), inclusive
//     (recovery_target_inclusive: it stops after the first record starting at or after T). Both
//     lie before S, so the restore has replayed every commit below N (all before C) and no other
//     (none between C and S): its committed set is S's, and every change of a committed
//     transaction precedes its commit record. Counts at the restore equal counts in S, exactly.
//  5. The record at T must be in the archive: its segment (with room for the record) has been
//     archived. C's record is important WAL, so archive_timeout switches its segment in time.
// Where a step does not hold, the drill says which and does not claim the same moment this way.
import type { ReadOnlyDb } from '../postgres/readonly.js';
import { parseLsn } from './rpo.js';

/** Live's latest checkpoint (pg_control_checkpoint()). */
export interface Checkpoint {
  /** Where its record starts. */
  lsn: string;
  timeline: number;
  /** nextXid when the checkpoint started, with its epoch (epoch << 32 | xid). */
  nextXid: bigint;
  /** The oldest xid running at the checkpoint (32 bits); 0 when not computed (shutdown checkpoint, wal_level minimal). */
  oldestActiveXid: number;
  at: string;
}

/** What one exported snapshot saw, for the proof. */
export interface SnapshotXids {
  /** pg_snapshot_xmax: the xid after the last one that ended. */
  xmax: bigint;
  /** The next xid to be assigned, read while the snapshot was held. */
  next: bigint;
  /** Transactions in flight below xmax. */
  xip: number;
}

export interface QuietProof {
  ok: boolean;
  /** Why the proof holds, or which step fails. */
  why: string;
}

export async function readCheckpoint(db: ReadOnlyDb): Promise<Checkpoint> {
  const [r] = await db.query<{ lsn: string; tli: number; next: string; active: string; at: Date }>(
    `SELECT checkpoint_lsn::text AS lsn, timeline_id AS tli, next_xid AS next, oldest_active_xid::text AS active,
       checkpoint_time AS at FROM pg_control_checkpoint()`,
  );
  const [epoch, xid] = r.next.split(':').map((v) => BigInt(v));
  return {
    lsn: r.lsn,
    timeline: Number(r.tli),
    nextXid: (epoch << 32n) | xid,
    oldestActiveXid: Number(r.active),
    at: r.at instanceof Date ? r.at.toISOString() : String(r.at),
  };
}

/** Steps 1-3 of the argument above, for every database's snapshot. */
export function proveQuiet(c: Checkpoint | undefined, snaps: SnapshotXids[], cause?: string): QuietProof {
  if (!c) return { ok: false, why: `live's last checkpoint could not be read${cause ? ` (${cause})` : ''}` };
  const n = c.nextXid;
  const where = `live's last checkpoint (${c.lsn}, ${c.at})`;
  if (c.oldestActiveXid === 0)
    return { ok: false, why: `${where} recorded no oldest running transaction (a shutdown checkpoint)` };
  if (BigInt(c.oldestActiveXid) !== (n & 0xffff_ffffn))
    return { ok: false, why: `transaction ${c.oldestActiveXid} was still running at ${where} (next xid ${n})` };
  const busy = snaps.find((s) => s.xip > 0 || s.xmax !== n || s.next !== n);
  if (busy)
    return {
      ok: false,
      why: `live wrote after ${where}: next xid ${n} then, ${busy.next} at the snapshot (xmax ${busy.xmax}, ${busy.xip} in flight)`,
    };
  return {
    ok: true,
    why:
      `live was idle: no transaction was running at ${where} and none was given an id since (next ` +
      `xid ${n} then and at the snapshot), so no commit lies between that checkpoint and the snapshot`,
  };
}

/** Step 4: where the restore stops, the later of C's record and the restored backup's end. */
export function quietTarget(c: Checkpoint, backupEndLsn: string | undefined): string | undefined {
  if (!backupEndLsn) return undefined;
  return parseLsn(backupEndLsn) > parseLsn(c.lsn) ? backupEndLsn : c.lsn;
}
