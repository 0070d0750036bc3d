// Fault injection in the playground bucket: s3rver keeps each object as `<key>._S3rver_object`
// (plus metadata files) under <directory>/<bucket>/.
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlaygroundHandle } from '../playground/types.js';
import { BACKUPS, type LiveCluster } from '../helpers/live-cluster.js';
import { editTarMember } from '../helpers/pages.js';

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Files of the live cluster's archive (under its prefix/server) whose path contains `part`. */
export function archiveFiles(pgd: PlaygroundHandle, live: LiveCluster, part: string): string[] {
  const prefix = live.destinationPath.replace(`s3://${pgd.s3.bucket}/`, '');
  const root = join(pgd.s3.directory, pgd.s3.bucket, prefix, live.serverName);
  return walk(root).filter((f) => f.includes(part));
}

/** Deletes one WAL segment (all its object files) from the archive. */
export function deleteWal(pgd: PlaygroundHandle, live: LiveCluster, segment: string): string[] {
  const files = archiveFiles(pgd, live, `/wals/${segment.slice(0, 16)}/${segment}`);
  if (!files.length) throw new Error(`WAL ${segment} not found in the archive`);
  for (const f of files) rmSync(f);
  return files;
}

/** Overwrites the base backup's data with garbage. */
export function corruptBaseBackup(pgd: PlaygroundHandle, live: LiveCluster, backupId: string): string[] {
  const files = archiveFiles(pgd, live, `/base/${backupId}/`).filter((f) => /data\.tar[^/]*\._S3rver_object$/.test(f));
  if (!files.length) throw new Error(`no data.tar for backup ${backupId}`);
  for (const f of files) writeFileSync(f, Buffer.alloc(64 * 1024, 0x5a));
  return files;
}

/** The newest stored copy of the base backup's data.tar (s3rver keeps it as one object file). */
export function baseBackupTar(pgd: PlaygroundHandle, live: LiveCluster, backupId: string): string {
  const files = archiveFiles(pgd, live, `/base/${backupId}/`).filter((f) => /\/data\.tar\._S3rver_object$/.test(f));
  if (files.length !== 1)
    throw new Error(`expected one uncompressed data.tar for backup ${backupId}, found: ${files.join(', ') || 'none'}`);
  return files[0];
}

/** The newest completed base backup of `live`: its ID and its stored data.tar. */
export function newestBackup(pgd: PlaygroundHandle, live: LiveCluster): { id: string; tar: string } {
  const newest = pgd.store
    .list(BACKUPS, live.namespace)
    .items.filter((b) => b.spec.cluster.name === live.name && b.status?.phase === 'completed')
    .sort((a, b) => String(a.status.stoppedAt).localeCompare(String(b.status.stoppedAt)))
    .at(-1)!;
  return { id: newest.status.backupId, tar: baseBackupTar(pgd, live, newest.status.backupId) };
}

/** Edits the newest completed base backup's copy of `relation`'s main fork; returns the backup's id. */
export async function editNewestBackup(
  pgd: PlaygroundHandle,
  live: LiveCluster,
  relation: string,
  edit: (data: Buffer) => void,
): Promise<string> {
  const [{ path }] = await live.superSql<{ path: string }>('SELECT pg_relation_filepath($1::regclass) AS path', [
    relation,
  ]);
  const { id, tar } = newestBackup(pgd, live);
  editTarMember(tar, path, edit);
  return id;
}
