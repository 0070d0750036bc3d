// The full-recovery Job's work, as CNPG's `instance restore`: check the new cluster's own archive
// is empty, pick the base backup, check its first WAL is in the archive, barman-cloud-restore,
// then replay WAL with barman-cloud-wal-restore until postgres promotes (or fails for real).
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { KubeObject } from '../types.js';
import type { BarmanBackupInfo, BarmanTarget } from './barman.js';
import type { Ctx } from './context.js';
import { ensurePostgresDir, writePostgresFile, PgInstance } from './postgres.js';
import type { JobIO } from './instance-commands.js';
import { clusterArchive, recoverySource } from './objectstore.js';
import { userParameters } from './postgres-config.js';
import { setOwnerPassword } from './bootstrap-initdb.js';
import { normalizeTargetTime } from './webhook-cluster.js';
import { sleep } from './proc.js';
import { barmanTime } from './backup-controller.js';

const lsnValue = (lsn: string | undefined) => {
  const m = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn ?? '');
  return m ? BigInt(`0x${m[1]}`) * 2n ** 32n + BigInt(`0x${m[2]}`) : undefined;
};

export function chooseBackup(backups: BarmanBackupInfo[], target: any): BarmanBackupInfo | undefined {
  const done = backups
    .filter((b) => b.status === 'DONE')
    .sort((a, b) => barmanTime(a.end_time) - barmanTime(b.end_time));
  if (target?.backupID) return done.find((b) => b.backup_id === target.backupID);
  let candidates = done;
  // As barman-cloud's catalog (CONFORMANCE.md 11, Recovery targets): a time target takes the newest
  // backup that ended at or before it, an LSN target the newest whose end LSN is below it.
  if (target?.targetTime) {
    const t = Date.parse(normalizeTargetTime(target.targetTime));
    candidates = done.filter((b) => barmanTime(b.end_time) <= t);
  } else if (target?.targetLSN) {
    const t = lsnValue(target.targetLSN)!;
    candidates = done.filter((b) => (lsnValue(b.end_xlog) ?? 0n) < t);
  }
  return candidates[candidates.length - 1];
}

export function recoveryTargetSettings(t: any): Record<string, string> {
  const out: Record<string, string> = { recovery_target_action: 'promote' };
  if (!t) return out;
  // CNPG rewrites RFC 3339 into the form PostgreSQL parses ("2026-11-22 00:43:33.57+00").
  if (t.targetTime)
    out.recovery_target_time = new Date(normalizeTargetTime(t.targetTime))
      .toISOString()
      .replace('T', ' ')
      .replace('Z', '+00');
  if (t.targetName) out.recovery_target_name = t.targetName;
  if (t.targetLSN) out.recovery_target_lsn = t.targetLSN;
  if (t.targetXID) out.recovery_target_xid = t.targetXID;
  if (t.targetImmediate) out.recovery_target = 'immediate';
  if (t.targetTLI) out.recovery_target_timeline = t.targetTLI;
  if (t.exclusive && (t.targetTime || t.targetLSN || t.targetXID || t.targetName))
    out.recovery_target_inclusive = 'off';
  return out;
}

async function waitForever(io: JobIO): Promise<never> {
  while (!io.signal.aborted) await sleep(500);
  throw new Error('aborted');
}

export async function runFullRecovery(ctx: Ctx, cluster: KubeObject, io: JobIO): Promise<void> {
  const name = cluster.metadata.name;
  io.log(`Starting the recovery of cluster ${name}\n`);
  const fail = ctx.settings.failRecovery;
  if (fail && fail.cluster.test(name)) throw new Error(fail.message);
  await checkOwnArchiveEmpty(ctx, cluster, io);
  const { target, backupId, beginWal } = await chooseBase(ctx, cluster, io);
  const pgdata = join(io.dir, 'pgdata');
  rmSync(pgdata, { recursive: true, force: true }); // a retried attempt starts clean
  await checkFirstWal(ctx, target, beginWal, io);
  ensurePostgresDir(pgdata);
  const restored = await ctx.barman.restore(target, backupId, pgdata, io.log);
  if (restored.code !== 0) throw new Error(`barman-cloud-restore exited with status ${restored.code}`);
  io.log('Restore completed\n'); // pkg/management/postgres/restore.go logs it once the base backup is in place
  if (ctx.settings.stallRecovery?.test(name)) {
    io.log('Waiting for the recovery to reach its target...\n');
    await waitForever(io);
  }
  await replayUntilPromoted(ctx, cluster, target, pgdata, io);
}

/** 1. The new cluster's own archive must be empty (CNPG's checkBackupDestination). */
async function checkOwnArchiveEmpty(ctx: Ctx, cluster: KubeObject, io: JobIO): Promise<void> {
  const own = clusterArchive(ctx, cluster);
  if (!own) return;
  const r = await ctx.barman.checkWalArchive(own.target);
  io.log(r.stderr);
  if (r.code !== 0)
    throw new Error(
      `while barman-cloud-check-wal-archive: exit status ${r.code}: WAL archive check failed for server ${own.target.serverName}: Expected empty archive`,
    );
}

/** 2. The source and the base backup: the Backup named, or the newest fitting the target. */
async function chooseBase(
  ctx: Ctx,
  cluster: KubeObject,
  io: JobIO,
): Promise<{ target: BarmanTarget; backupId: string; beginWal?: string }> {
  const source = recoverySource(ctx, cluster);
  const t = source.target;
  let backupId: string;
  let beginWal: string | undefined;
  if (source.backup) {
    backupId = source.backup.status?.backupId;
    beginWal = source.backup.status?.beginWal;
    if (!backupId)
      throw new Error(
        `backup ${source.backup.metadata.name} has no backupId (phase ${source.backup.status?.phase ?? 'none'})`,
      );
  } else {
    const chosen = chooseBackup(await listOrFail(ctx, t, io), cluster.spec.bootstrap.recovery.recoveryTarget);
    if (!chosen) throw new Error('no target backup found');
    backupId = chosen.backup_id;
    beginWal = chosen.begin_wal;
  }
  io.log(`Target backup found: ${backupId} (server ${t.serverName} in ${t.destinationPath})\n`);
  return { target: t, backupId, beginWal };
}

/** 3. The base backup's first WAL must be in the archive. */
async function checkFirstWal(ctx: Ctx, t: BarmanTarget, beginWal: string | undefined, io: JobIO): Promise<void> {
  if (!beginWal) return;
  const tmp = join(io.dir, 'test.wal');
  const r = await ctx.barman.walRestore(t, beginWal, tmp);
  rmSync(tmp, { force: true });
  if (r.code !== 0) {
    io.log(r.stderr);
    throw new Error(
      `encountered an error while checking the presence of first needed WAL in the archive: exit status ${r.code}`,
    );
  }
}

/** 5. Replay WAL with barman-cloud-wal-restore until postgres promotes. */
async function replayUntilPromoted(
  ctx: Ctx,
  cluster: KubeObject,
  t: BarmanTarget,
  pgdata: string,
  io: JobIO,
): Promise<void> {
  const restoreScript = ctx.barman.walRestoreScript(io.dir, t);
  writePostgresFile(join(pgdata, 'recovery.signal'), '');
  writePostgresFile(join(pgdata, '.check-empty-wal-archive'), '');
  rmSync(join(pgdata, 'standby.signal'), { force: true });
  const inst = new PgInstance({ pgdata, procs: io.procs, onLog: io.log });
  await inst.allocateEndpoint();
  try {
    inst.configure(userParameters(cluster), {
      ...inst.endpointSettings(),
      archive_mode: 'on',
      archive_command: '', // archiving waits for the instance pod (.ready files are kept for it)
      restore_command: `${restoreScript} %f %p`,
      ...recoveryTargetSettings(cluster.spec.bootstrap.recovery.recoveryTarget),
    });
    await inst.start(300_000).catch((err) => {
      throw new Error(`postgres failed during recovery: ${(err as Error).message}`);
    });
    await waitPromoted(inst, io);
    io.log('Recovery completed, the instance was promoted\n');
    await inst.query('CHECKPOINT');
    await setOwnerPassword(ctx, cluster, inst);
  } finally {
    await inst.stop();
    inst.releaseSocketDir();
  }
}

async function waitPromoted(inst: PgInstance, io: JobIO): Promise<void> {
  for (;;) {
    if (io.signal.aborted) throw new Error('aborted');
    if (!inst.running) throw new Error('postgres exited before the end of recovery');
    const rows = await inst.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r').catch(() => undefined);
    if (rows && !rows[0].r) return;
    await sleep(200);
  }
}

async function listOrFail(ctx: Ctx, t: BarmanTarget, io: JobIO): Promise<BarmanBackupInfo[]> {
  try {
    return await ctx.barman.listBackups(t);
  } catch (err) {
    io.log(`${(err as Error).message}\n`);
    throw new Error(
      `while getting the backup list from ${t.destinationPath} (server ${t.serverName}): barman-cloud-backup-list failed`,
      { cause: err },
    );
  }
}
