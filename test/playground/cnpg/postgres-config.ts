// What the instance manager writes into postgresql.conf for a pod: the user's parameters,
// the archiver (barman-cloud-wal-archive wrapper) and, on replicas, streaming from the primary.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { writePostgresFile } from './postgres.js';
import { clusterArchive } from './objectstore.js';

export function userParameters(cluster: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cluster.spec?.postgresql?.parameters ?? {})) out[k] = String(v);
  return out;
}

/** archive_* settings; a broken archive configuration makes every archive attempt fail, as in CNPG. */
export function archiveSettings(ctx: Ctx, cluster: KubeObject, dir: string): Record<string, string> {
  let archive;
  try {
    archive = clusterArchive(ctx, cluster);
  } catch (err) {
    const path = join(dir, 'wal-archive.sh');
    writePostgresFile(
      path,
      `#!/bin/sh\necho ${JSON.stringify(`ERROR: cannot archive WAL: ${(err as Error).message}`)} >&2\nexit 1\n`,
      0o700,
    );
    return { archive_mode: 'on', archive_command: `${path} %p` };
  }
  if (!archive) {
    rmSync(join(dir, 'wal-archive.sh'), { force: true });
    return { archive_mode: 'on', archive_command: '/bin/true' }; // CNPG always archives; with no store it is a no-op
  }
  const script = ctx.barman.walArchiveScript(dir, archive.target);
  return { archive_mode: 'on', archive_command: `${script} %p` };
}

export function replicaSettings(podName: string, primary: { port: number }): Record<string, string> {
  return {
    primary_conninfo: `host=127.0.0.1 port=${primary.port} user=streaming_replica application_name=${podName} sslmode=disable`,
    hot_standby: 'on',
  };
}

export function ensureStandbySignal(pgdata: string, standby: boolean): void {
  const f = join(pgdata, 'standby.signal');
  if (standby && !existsSync(f)) writePostgresFile(f, '');
  if (!standby && existsSync(f)) rmSync(f);
}
