// Verification of a restore's data files with amcheck: verify_heapam per table (every tuple's
// header and TOAST pointers), bt_index_check per B-tree index (bt_index_parent_check, which also
// checks each downlink, for indexes below a size), plus the cluster's data checksum state and
// the page checksum failures PostgreSQL counted while the restore was read.
// ONLY for the disposable recovery cluster: installing amcheck is a write (CREATE EXTENSION).
import pg from 'pg';
import { describeError } from '../errors.js';
import { pgClientConfig } from './client-config.js';
import { displayName, qualifiedIdent, quoteIdent } from './ident.js';
import { forEachLargestFirst } from './progress.js';
import type { ConnInfo } from './conn-info.js';
import type { ReadOnlyDb } from './readonly.js';

export type VerifyMode = 'amcheck' | 'heap' | 'off';

export type CheckName = 'verify_heapam' | 'bt_index_check' | 'bt_index_parent_check';

export interface RelationCheck {
  kind: 'table' | 'index';
  schema: string;
  name: string;
  check: CheckName;
  bytes: number;
  ms: number;
  /** What amcheck found: verify_heapam's rows, or the check's data/index-corrupted error. */
  corruption: string[];
  /** The check did not run to the end for another reason (timeout, deadline): not verified. */
  error?: string;
}

export interface Checksums {
  /** SHOW data_checksums. */
  enabled: boolean;
  /** pg_stat_database.checksum_failures of this database plus shared relations; null when checksums are off. */
  failures: number | null;
  lastFailure?: string;
}

export interface Verification {
  database: string;
  mode: VerifyMode;
  amcheckVersion?: string;
  /** What was checked less than the mode asks for, and why (amcheck without verify_heapam on PostgreSQL 13). */
  note?: string;
  checksums: Checksums;
  relations: RelationCheck[];
  ms: number;
}

export interface VerifyOptions {
  mode: VerifyMode;
  concurrency: number;
  /** B-tree indexes up to this size get bt_index_parent_check. Default 1 GiB. */
  parentCheckMaxBytes?: number;
  log?: (line: string) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
  deadline?: number;
}

export const DEFAULT_PARENT_CHECK_MAX_BYTES = 1024 ** 3;
/** verify_heapam rows kept per relation (the first ones say where; the rest say "more"). */
const MAX_FINDINGS = 20;

/** amcheck in a database: its schema, version, and whether it has verify_heapam (amcheck 1.3, PostgreSQL 14+). */
export interface Amcheck {
  schema: string;
  version: string;
  heap: boolean;
}

/**
 * Installs amcheck (or updates it to a version with verify_heapam) in the RESTORE's database and
 * returns where it is and what it has. Needs a superuser session (amcheck is untrusted). PostgreSQL
 * 13 ships amcheck 1.2, B-tree checks only: `heap` is false and verifyRestore degrades.
 */
export async function installAmcheck(restore: ConnInfo, statementTimeoutMs: number): Promise<Amcheck> {
  const client = new pg.Client(pgClientConfig(restore, { applicationName: 'cnpg-restore-drill', statementTimeoutMs }));
  await client.connect();
  try {
    const find = async () =>
      (
        await client.query<Amcheck>(
          `SELECT n.nspname AS schema, e.extversion AS version,
                EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = 'verify_heapam' AND p.pronamespace = e.extnamespace) AS heap
           FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'`,
        )
      ).rows[0];
    let found = await find();
    if (!found) await client.query('CREATE EXTENSION amcheck');
    else if (!found.heap) await client.query('ALTER EXTENSION amcheck UPDATE');
    found = await find();
    if (!found) throw new Error('CREATE EXTENSION amcheck left no amcheck installed');
    return found;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function readChecksums(db: ReadOnlyDb): Promise<Checksums> {
  const [r] = await db.query<{ enabled: string; failures: string | null; last: Date | null }>(
    `SELECT current_setting('data_checksums') AS enabled, sum(checksum_failures) AS failures, max(checksum_last_failure) AS last
       FROM pg_stat_database WHERE datname = current_database() OR datid = 0`,
  );
  const enabled = r.enabled === 'on';
  return {
    enabled,
    failures: enabled && r.failures !== null ? Number(r.failures) : null,
    ...(r.last && { lastFailure: r.last.toISOString() }),
  };
}

interface Relation {
  kind: 'table' | 'index';
  schema: string;
  name: string;
  bytes: number;
}

/** Tables with storage (r, m) of every user schema and their valid B-tree indexes, with sizes. */
async function listRelations(db: ReadOnlyDb, withIndexes: boolean): Promise<Relation[]> {
  return db.query<Relation>(
    `SELECT CASE WHEN c.relkind = 'i' THEN 'index' ELSE 'table' END AS kind, n.nspname AS schema, c.relname AS name,
            pg_relation_size(c.oid)::float8 AS bytes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indexrelid = c.oid
       LEFT JOIN pg_am a ON a.oid = c.relam
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND c.relpersistence <> 't'
        AND (c.relkind IN ('r', 'm') OR ($1 AND c.relkind = 'i' AND a.amname = 'btree' AND i.indisvalid AND i.indisready))`,
    [withIndexes],
  );
}

/** XX001 data_corrupted, XX002 index_corrupted: what amcheck (and the buffer manager) raise on damage. */
const isCorruption = (err: unknown) => ['XX001', 'XX002'].includes(String((err as { code?: unknown })?.code));

async function checkRelation(
  db: ReadOnlyDb,
  amSchema: string,
  rel: Relation,
  parentMax: number,
): Promise<RelationCheck> {
  const check: CheckName =
    rel.kind === 'table' ? 'verify_heapam' : rel.bytes <= parentMax ? 'bt_index_parent_check' : 'bt_index_check';
  const fn = `${quoteIdent(amSchema)}.${check}`;
  const started = performance.now();
  const out: RelationCheck = { ...rel, check, ms: 0, corruption: [] };
  try {
    if (rel.kind === 'table') {
      const rows = await db.query<{ blkno: string; offnum: number | null; attnum: number | null; msg: string }>(
        `SELECT blkno, offnum, attnum, msg FROM ${fn}($1::regclass, ` +
          `on_error_stop => false, check_toast => true, skip => 'none') LIMIT ${MAX_FINDINGS + 1}`,
        [qualifiedIdent(rel.schema, rel.name)],
      );
      out.corruption = rows
        .slice(0, MAX_FINDINGS)
        .map(
          (r) =>
            `block ${r.blkno}${r.offnum !== null ? `, offset ${r.offnum}` : ''}` +
            `${r.attnum !== null ? `, attribute ${r.attnum}` : ''}: ${r.msg}`,
        );
      if (rows.length > MAX_FINDINGS) out.corruption.push('... and more');
    } else {
      await db.query(`SELECT ${fn}($1::regclass)`, [qualifiedIdent(rel.schema, rel.name)]);
    }
  } catch (err) {
    if (isCorruption(err)) out.corruption.push(describeError(err));
    else out.error = describeError(err);
  }
  out.ms = performance.now() - started;
  return out;
}

/** Tables first, then indexes; each by schema, then name (code-unit order). */
function byKindAndName(a: RelationCheck, b: RelationCheck): number {
  const key = (r: RelationCheck) => [r.kind === 'table' ? 0 : 1, r.schema, r.name] as const;
  const [x, y] = [key(a), key(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** Without verify_heapam (PostgreSQL 13), what is checked instead: said once, in the verification. */
function degradedNote(mode: VerifyMode, amcheck: Amcheck | undefined): string | undefined {
  if (mode === 'off' || !amcheck || amcheck.heap) return undefined;
  const instead =
    mode === 'amcheck'
      ? 'B-tree indexes checked with bt_index_check / bt_index_parent_check; every heap page read by the full read'
      : 'no heap check ran beyond the full read, which read every heap page';
  const missing = `amcheck ${amcheck.version} has no verify_heapam (PostgreSQL 14 or later)`;
  return `${missing}: ${instead}, so tuple-level heap and TOAST damage is not checked`;
}

/** Checks every relation (largest first, bounded concurrency, under the deadline), then reads the checksum counters. */
export async function verifyRestore(
  db: ReadOnlyDb,
  database: string,
  amcheck: Amcheck | undefined,
  opts: VerifyOptions,
): Promise<Verification> {
  const started = performance.now();
  const relations: RelationCheck[] = [];
  if (opts.mode !== 'off') {
    if (!amcheck) throw new Error('verifyRestore: amcheck is not installed (installAmcheck first)');
    const rels = (await listRelations(db, opts.mode === 'amcheck')).filter((r) => r.kind === 'index' || amcheck.heap);
    const parentMax = opts.parentCheckMaxBytes ?? DEFAULT_PARENT_CHECK_MAX_BYTES;
    await forEachLargestFirst(
      rels,
      async (rel) => void relations.push(await checkRelation(db, amcheck.schema, rel, parentMax)),
      (rel, why) =>
        relations.push({
          ...rel,
          check: rel.kind === 'table' ? 'verify_heapam' : 'bt_index_check',
          ms: 0,
          corruption: [],
          error: why,
        }),
      {
        concurrency: opts.concurrency,
        label: `restore ${database}: verify`,
        unit: 'relations',
        log: opts.log,
        everyMs: opts.progressEveryMs,
        signal: opts.signal,
        deadline: opts.deadline,
      },
    );
    if (opts.signal?.aborted)
      throw new Error(`verifying the restore aborted: ${describeError(opts.signal.reason ?? 'aborted')}`);
  }
  // Read last: the counters include every page read by the full read and by amcheck.
  const checksums = await readChecksums(db);
  const note = degradedNote(opts.mode, amcheck);
  return {
    database,
    mode: opts.mode,
    ...(amcheck && { amcheckVersion: amcheck.version }),
    ...(note && { note }),
    checksums,
    relations: relations.sort(byKindAndName),
    ms: performance.now() - started,
  };
}

const label = (r: RelationCheck) => `${r.kind} ${displayName(r.schema, r.name)}`;

/** One verdict line per kind of problem. */
export function verificationReasons(v: Verification): string[] {
  const reasons: string[] = [];
  const corrupt = v.relations.filter((r) => r.corruption.length);
  if (corrupt.length) {
    const shown = corrupt
      .slice(0, 5)
      .map(
        (r) =>
          `${label(r)} (${r.check}: ${r.corruption[0]}${r.corruption.length > 1 ? `; +${r.corruption.length - 1} more` : ''})`,
      );
    reasons.push(
      `database ${v.database}: amcheck found corruption in ${corrupt.length} ` +
        `relation(s): ${shown.join('; ')}${corrupt.length > 5 ? '; ...' : ''}`,
    );
  }
  const unverified = v.relations.filter((r) => r.error !== undefined);
  if (unverified.length) {
    const shown = unverified.slice(0, 5).map((r) => `${label(r)} (${r.check}: ${r.error})`);
    reasons.push(
      `database ${v.database}: ${unverified.length} relation(s) could not be ` +
        `verified: ${shown.join('; ')}${unverified.length > 5 ? '; ...' : ''}`,
    );
  }
  if (v.checksums.failures) {
    reasons.push(
      `database ${v.database}: ${v.checksums.failures} page checksum failure(s) in the restore ` +
        `(pg_stat_database.checksum_failures)` +
        `${v.checksums.lastFailure ? `, last at ${v.checksums.lastFailure}` : ''}`,
    );
  }
  return reasons;
}
