// barman-cloud command lines, credentials and wrapper scripts (real barman-cli-cloud 3.4).
import { join } from 'node:path';
import { ProcessGroup, shq, type RunResult } from './proc.js';
import { writePostgresFile } from './postgres.js';
import { startWarmBarman } from './barman-warm.js';

/** Shape of `barmanObjectStore` / ObjectStore `spec.configuration` (the parts modelled). */
export interface BarmanObjectStoreSpec {
  destinationPath?: string;
  endpointURL?: string;
  serverName?: string;
  s3Credentials?: {
    accessKeyId?: { name: string; key: string };
    secretAccessKey?: { name: string; key: string };
    region?: { name: string; key: string };
    sessionToken?: { name: string; key: string };
    inheritFromIAMRole?: boolean;
  };
  wal?: { compression?: string; maxParallel?: number };
  data?: { compression?: string; jobs?: number; immediateCheckpoint?: boolean };
}

/** A store with credentials resolved: what every barman-cloud call needs. */
export interface BarmanTarget {
  destinationPath: string;
  endpointURL?: string;
  serverName: string;
  env: Record<string, string>;
  walCompression?: string;
  dataCompression?: string;
}

export interface BarmanBackupInfo {
  backup_id: string;
  status: string;
  begin_time?: string;
  end_time?: string;
  begin_wal?: string;
  end_wal?: string;
  begin_xlog?: string;
  end_xlog?: string;
  timeline?: number;
  backup_name?: string;
}

const COMPRESSION = new Set(['gzip', 'bzip2', 'snappy', 'lz4', 'xz', 'zstd']);

export function cloudArgs(t: BarmanTarget): string[] {
  return ['--cloud-provider', 'aws-s3', ...(t.endpointURL ? ['--endpoint-url', t.endpointURL] : [])];
}

export function walArchiveArgs(t: BarmanTarget): string[] {
  const c = t.walCompression && COMPRESSION.has(t.walCompression) ? [`--${t.walCompression}`] : [];
  return [...cloudArgs(t), ...c, t.destinationPath, t.serverName];
}

export class Barman {
  /** What a command line starts with: nothing (the tool itself), or the warm server's client (barman-warm.ts). */
  launch: string[] = [];
  /** The warm server's pid: its children's CPU is every call's (test/bench/barman.bench.ts). */
  serverPid?: number;

  constructor(private readonly procs: ProcessGroup) {}

  /** Serves every later command from one warm interpreter; stays direct when that cannot start. */
  async warm(dir: string): Promise<void> {
    ({ launch: this.launch, pid: this.serverPid } = await startWarmBarman(this.procs, dir));
  }

  run(tool: string, args: string[], t: BarmanTarget, onOutput?: (s: string) => void): Promise<RunResult> {
    const [cmd, ...rest] = [...this.launch, tool, ...args];
    return this.procs.run(cmd, rest, { env: t.env, onOutput });
  }

  walArchiveScript(dir: string, t: BarmanTarget): string {
    return writeWalArchiveScript(dir, t, this.launch);
  }

  walRestoreScript(dir: string, t: BarmanTarget): string {
    return writeWalRestoreScript(dir, t, this.launch);
  }

  async listBackups(t: BarmanTarget): Promise<BarmanBackupInfo[]> {
    const r = await this.run(
      'barman-cloud-backup-list',
      [...cloudArgs(t), '--format', 'json', t.destinationPath, t.serverName],
      t,
    );
    if (r.code !== 0) throw new Error(r.stderr.trim() || `barman-cloud-backup-list exited ${r.code}`);
    const parsed = JSON.parse(r.stdout || '{}') as { backups_list?: BarmanBackupInfo[] };
    return parsed.backups_list ?? [];
  }

  /** Runs a real base backup of the server listening on `socketDir:port`. */
  backup(
    t: BarmanTarget,
    server: { socketDir: string; port: number },
    onOutput?: (s: string) => void,
  ): Promise<RunResult> {
    const c = t.dataCompression && COMPRESSION.has(t.dataCompression) ? [`--${t.dataCompression}`] : [];
    const args = [
      ...cloudArgs(t),
      ...c,
      '--immediate-checkpoint',
      '--host',
      server.socketDir,
      '--port',
      String(server.port),
      '--user',
      'postgres',
      t.destinationPath,
      t.serverName,
    ];
    return this.run('barman-cloud-backup', args, t, onOutput);
  }

  checkWalArchive(t: BarmanTarget): Promise<RunResult> {
    return this.run('barman-cloud-check-wal-archive', [...cloudArgs(t), t.destinationPath, t.serverName], t);
  }

  restore(t: BarmanTarget, backupId: string, pgdata: string, onOutput?: (s: string) => void): Promise<RunResult> {
    return this.run(
      'barman-cloud-restore',
      [...cloudArgs(t), t.destinationPath, t.serverName, backupId, pgdata],
      t,
      onOutput,
    );
  }

  walRestore(t: BarmanTarget, wal: string, dest: string): Promise<RunResult> {
    return this.run('barman-cloud-wal-restore', [...cloudArgs(t), t.destinationPath, t.serverName, wal, dest], t);
  }
}

function envLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}=${shq(v)}`)
    .join('\n');
}

/**
 * archive_command wrapper (runs as postgres, holds the secret: mode 0700, never logged). Like CNPG's
 * instance manager, the first archive of a new cluster checks the destination is empty, while the
 * `.check-empty-wal-archive` flag file exists in PGDATA (created at initdb / restore time).
 */
export function writeWalArchiveScript(dir: string, t: BarmanTarget, launch: string[] = []): string {
  const path = join(dir, 'wal-archive.sh');
  const args = walArchiveArgs(t).map(shq).join(' ');
  const check = [...cloudArgs(t), t.destinationPath, t.serverName].map(shq).join(' ');
  const via = launch.map(shq).join(' ');
  writePostgresFile(
    path,
    `#!/bin/sh
${envLines(t.env)}
if [ -f .check-empty-wal-archive ]; then
  ${via} barman-cloud-check-wal-archive ${check} || exit 1
  rm -f .check-empty-wal-archive
fi
exec ${via} barman-cloud-wal-archive ${args} "$1"
`,
    0o700,
  );
  return path;
}

/** restore_command wrapper for recovery (barman-cloud-wal-restore). */
export function writeWalRestoreScript(dir: string, t: BarmanTarget, launch: string[] = []): string {
  const path = join(dir, 'wal-restore.sh');
  const args = [...launch, 'barman-cloud-wal-restore', ...cloudArgs(t), t.destinationPath, t.serverName];
  writePostgresFile(path, `#!/bin/sh\n${envLines(t.env)}\nexec ${args.map(shq).join(' ')} "$1" "$2"\n`, 0o700);
  return path;
}
