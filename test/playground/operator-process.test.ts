// The operator's process layer on its own: real postgres, real barman-cloud, real s3rver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startS3 } from './s3.js';
import { ProcessGroup } from './cnpg/proc.js';
import { PgInstance, ensurePostgresDir, writePostgresFile } from './cnpg/postgres.js';
import { Barman, writeWalArchiveScript, writeWalRestoreScript, type BarmanTarget } from './cnpg/barman.js';
import type { S3Handle } from './types.js';
import { postgresPids } from './cnpg/test-env.js';

let dir: string;
let s3: S3Handle;
const procs = new ProcessGroup();
const barman = new Barman(procs);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'op-proc-'));
  ensurePostgresDir(dir);
  s3 = await startS3({ dir: join(dir, 's3') });
});
afterAll(async () => {
  await procs.stopAll();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const target = (): BarmanTarget => ({
  destinationPath: `s3://${s3.bucket}/proc`,
  endpointURL: s3.endpoint,
  serverName: 'src',
  env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
});

describe('process layer', () => {
  it('initdb, archive, backup, restore with PITR replay', async () => {
    const t0 = Date.now();
    const logs: string[] = [];
    const src = new PgInstance({ pgdata: join(dir, 'src', 'pgdata'), procs, onLog: (s) => logs.push(s) });
    ensurePostgresDir(join(dir, 'src'));
    await src.initdb({});
    writePostgresFile(join(src.pgdata, '.check-empty-wal-archive'), '');
    await src.allocateEndpoint();
    const script = writeWalArchiveScript(join(dir, 'src'), target());
    src.configure({}, { ...src.endpointSettings(), archive_mode: 'on', archive_command: `${script} %p` });
    await src.start();
    const initMs = Date.now() - t0;
    await src.query('CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1,100)');
    const b = await barman.backup(target(), src);
    expect(b.code, b.stderr).toBe(0);
    const list = await barman.listBackups(target());
    expect(list.length).toBe(1);
    await src.query('INSERT INTO t SELECT generate_series(101,150)');
    await src.query(`SELECT pg_switch_wal()`);
    // wait until archived
    for (let i = 0; i < 100; i++) {
      const [a] = await src.query<{ last_archived_wal: string | null; failed_count: string }>(
        'SELECT * FROM pg_stat_archiver',
      );
      const [{ w }] = await src.query<{ w: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) w');
      if (a.last_archived_wal && a.last_archived_wal < w && Number(a.failed_count) === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const check = await barman.checkWalArchive(target());
    expect(check.code).not.toBe(0);
    expect(check.stderr).toContain('Expected empty archive');
    const dst = new PgInstance({ pgdata: join(dir, 'dst', 'pgdata'), procs, onLog: (s) => logs.push(s) });
    ensurePostgresDir(join(dir, 'dst'));
    ensurePostgresDir(dst.pgdata);
    const r = await barman.restore(target(), list[0].backup_id, dst.pgdata);
    expect(r.code, r.stderr).toBe(0);
    const rs = writeWalRestoreScript(join(dir, 'dst'), target());
    await dst.allocateEndpoint();
    dst.configure({}, { ...dst.endpointSettings(), restore_command: `${rs} %f %p`, recovery_target_action: 'promote' });
    writePostgresFile(join(dst.pgdata, 'recovery.signal'), '');
    await dst.start();
    for (let i = 0; i < 200; i++) {
      const [{ r: inRec }] = await dst.query<{ r: boolean }>('SELECT pg_is_in_recovery() r');
      if (!inRec) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const [{ c }] = await dst.query<{ c: string }>('SELECT count(*) c FROM t');
    expect(Number(c)).toBe(150);
    console.log(`initdb+start ${initMs} ms, total ${Date.now() - t0} ms`);
    await src.stop();
    await dst.stop();
    src.releaseSocketDir();
    dst.releaseSocketDir();
    expect(existsSync(src.socketDir)).toBe(false);
    expect(postgresPids(dir)).toBe('');
  });
});
