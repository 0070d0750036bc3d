// Work done by the initdb and join Jobs: a new primary from initdb, or a streaming standby
// cloned with pg_basebackup from the running primary.
import { join } from 'node:path';
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { secretValue, GVR } from './context.js';
import { PgInstance, ensurePostgresDir, sqlIdent, sqlLiteral, writePostgresFile } from './postgres.js';
import type { JobIO } from './instance-commands.js';
import { PG_BIN } from './proc.js';
import { mapImage } from '../../helpers/postgres-install.js';
import { appSecretName, bootstrapDb, superuserSecretName } from './cluster-secrets.js';

/** Starts a throwaway postmaster on the job's data (for bootstrap SQL), runs fn, stops it. */
export async function withTemporaryServer<T>(
  io: JobIO,
  pgdata: string,
  configure: (inst: PgInstance) => void,
  fn: (inst: PgInstance) => Promise<T>,
): Promise<T> {
  const inst = new PgInstance({ pgdata, procs: io.procs, onLog: io.log });
  await inst.allocateEndpoint();
  try {
    configure(inst);
    await inst.start();
    return await fn(inst);
  } finally {
    await inst.stop();
    inst.releaseSocketDir();
  }
}

export async function setOwnerPassword(ctx: Ctx, cluster: KubeObject, inst: PgInstance): Promise<void> {
  const { database, owner } = bootstrapDb(cluster);
  const ns = cluster.metadata.namespace!;
  const secretName = appSecretName(cluster).name;
  const password = secretValue(ctx.store.get(GVR.secret, ns, secretName), 'password');
  const exists = await inst.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner]);
  const pw = password !== undefined ? ` PASSWORD ${sqlLiteral(password)}` : '';
  await inst.query(`${exists.length ? 'ALTER' : 'CREATE'} ROLE ${sqlIdent(owner)} WITH LOGIN${pw}`);
  const db = await inst.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (!db.length) await inst.query(`CREATE DATABASE ${sqlIdent(database)} OWNER ${sqlIdent(owner)}`);
  if (cluster.spec?.enableSuperuserAccess) {
    const su = secretValue(ctx.store.get(GVR.secret, ns, superuserSecretName(cluster).name), 'password');
    if (su) await inst.query(`ALTER ROLE postgres WITH PASSWORD ${sqlLiteral(su)}`);
  }
  await inst.query(
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'streaming_replica') THEN CREATE ROLE streaming_replica WITH REPLICATION LOGIN; END IF; END $$`,
  );
}

export async function runInitdb(ctx: Ctx, cluster: KubeObject, io: JobIO): Promise<void> {
  const pgdata = join(io.dir, 'pgdata');
  const bin = mapImage(cluster.status?.image ?? cluster.spec?.imageName).installed.bin;
  const inst = new PgInstance({ pgdata, procs: io.procs, onLog: io.log, bin });
  if (inst.hasData()) {
    io.log('PGDATA already exists, skipping initdb\n');
    return;
  }
  ensurePostgresDir(pgdata);
  io.log(`Creating new data directory ${pgdata}\n`);
  await inst.initdb({});
  const init = cluster.spec?.bootstrap?.initdb ?? {};
  await withTemporaryServer(
    io,
    pgdata,
    (i) => i.configure({}, { ...i.endpointSettings(), archive_mode: 'off' }),
    async (i) => {
      await setOwnerPassword(ctx, cluster, i);
      const { database } = bootstrapDb(cluster);
      for (const sql of init.postInitSQL ?? []) await i.query(sql);
      for (const sql of init.postInitTemplateSQL ?? []) await i.query(sql, [], 'template1');
      for (const sql of init.postInitApplicationSQL ?? []) await i.query(sql, [], database);
    },
  );
  // Like CNPG: the first WAL archived by the new instance checks the destination is empty.
  writePostgresFile(join(pgdata, '.check-empty-wal-archive'), '');
  io.log('initdb completed\n');
}

export async function runJoin(io: JobIO, primary: { port: number }): Promise<void> {
  const pgdata = join(io.dir, 'pgdata');
  io.log(`Cloning the primary with pg_basebackup into ${pgdata}\n`);
  const r = await io.procs.run(
    `${PG_BIN}/pg_basebackup`,
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'streaming_replica',
      '-D',
      pgdata,
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ],
    {
      onOutput: io.log,
    },
  );
  if (r.code !== 0) throw new Error(`pg_basebackup failed: ${r.stderr.trim()}`);
  io.log('join completed\n');
}
