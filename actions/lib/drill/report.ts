// The drill's report: verdict first, then RTO/RPO, phase timings, backup inventory, schema
// differences and tables out of tolerance. Markdown that reads well both as the job summary
// and as plain text in the terminal (no HTML).
import { STAT, type CountComparison } from '../postgres/compare-counts.js';
import { displayName } from '../postgres/ident.js';
import type { Verification } from '../postgres/verify.js';
import { formatBytes, formatDuration, markdownTable } from '../report/format.js';
import type { Inventory } from './inventory.js';
import type { DatabaseComparison, DrillResult } from './result.js';
import type { RecoveryWindow } from './window.js';
import { checksSection, contentSection } from './content-report.js';
import { NOT_COMPARED_WHY, notComparedGroups } from './compare.js';

const MAX_ROWS = 200;
const MAX_BACKUPS = 100;

export function renderReport(r: DrillResult): string {
  // An error before the live spec was read (input, credentials, RBAC, preflight): the headline says it all.
  if (r.error && !r.mode) return [headline(r), tail(r)].flat().join('\n');
  const sections = [
    headline(r),
    facts(r),
    phaseTimings(r),
    r.inventory ? inventory(r.inventory, r.window) : [],
    ...r.databases.map(databaseSection),
    ...(r.content ?? []).map(contentSection),
    checksSection(r.checks ?? []),
    ...(r.verifications ?? []).map(verificationSection),
    toleranceText(r),
    tail(r),
  ];
  return sections.flat().join('\n');
}

const ICON = { passed: '✅', failed: '❌', error: '⚠️' } as const;

function headline(r: DrillResult): string[] {
  const out = [`## ${ICON[r.verdict]} Restore drill ${r.verdict.toUpperCase()}: ${r.namespace}/${r.cluster}\n`];
  if (r.error) out.push(...errorLines(r.error));
  if (r.reasons.length) out.push('**Reasons**\n', ...r.reasons.map((reason) => `- ${reason}`), '');
  if (r.verdict === 'failed') out.push(`**What to do:** ${FAILED_FIX}\n`);
  return out;
}

/** A failed drill: the backup or the restore is at fault (never the drill itself: that is an error). */
export const FAILED_FIX =
  'the backup or the restore is at fault, not the drill: fix what the reasons name (backups, WAL archiving, ' +
  'the object store), take a new backup and re-run; keep-on-failure: true keeps the recovery cluster to inspect.';

/** An error says it is not a verdict on the backup, what happened and what to do. */
export function errorLines(e: NonNullable<DrillResult['error']>): string[] {
  return [
    `**The drill could not judge the backup** (${e.kind}): this is not a failed backup or restore.\n`,
    `- What happened: ${e.message}`,
    `- What to do: ${e.fix}`,
    '',
  ];
}

function facts(r: DrillResult): string[] {
  const rows: [string, string][] = [
    [
      'RTO (recovery cluster created -> healthy)',
      r.rtoSeconds !== undefined ? `${r.rtoSeconds} s (${formatDuration(r.rtoSeconds * 1000)})` : 'n/a',
    ],
    ['RPO (restored data behind live at drill start)', r.rpo?.seconds !== undefined ? `${r.rpo.seconds} s` : 'n/a'],
    ['RPO in WAL', r.rpo?.bytes !== undefined ? formatBytes(r.rpo.bytes) : 'n/a'],
    ['Backup mode', r.mode ?? 'n/a'],
    ['Backup restored', r.backupId ?? 'n/a'],
    ['Recovery target', targetText(r)],
    ['Restored in', r.recoverySite?.where ?? `namespace ${r.namespace} (next to the live cluster)`],
    ['Restored from (object store)', r.recoverySite?.objectStore ?? 'n/a'],
    ['Restored with (credentials)', r.recoverySite?.credentials?.describe ?? 'n/a'],
    [
      'Recovery cluster',
      r.recoveryCluster
        ? `${r.recoveryCluster}${r.kept ? ' (KEPT for debugging: delete it by hand)' : ''}`
        : 'not created',
    ],
    ['Teardown', teardownText(r)],
  ];
  const out = [
    markdownTable(
      ['', ''],
      rows.map(([k, v]) => [`**${k}**`, v]),
    ),
  ];
  if (r.rpo) out.push(`RPO, measured: ${r.rpo.explanation}\n`);
  return out;
}

function phaseTimings(r: DrillResult): string[] {
  if (!r.phases.length && !r.recoveryPhases) return [];
  const rows: unknown[][] = [];
  const rp = r.recoveryPhases;
  for (const p of r.phases) {
    rows.push([p.phase, formatMs(p.ms)]);
    if (rp && p.phase.startsWith('wait for the recovery')) {
      rows.push(['↳ recovery job running (after create)', secs(rp.jobRunningS)]);
      rows.push(['↳ recovery job done (after create)', secs(rp.jobDoneS)]);
      rows.push(['↳ instance ready (after create)', secs(rp.readyS)]);
    }
  }
  return ['### Phase timings\n', markdownTable(['Phase', 'Time'], rows)];
}

function inventory(inv: Inventory, window: RecoveryWindow | undefined): string[] {
  const out = ['### Backup inventory\n'];
  if (window) out.push(...windowText(window));
  if (inv.backups.length) {
    const label = (b: (typeof inv.backups)[number]) =>
      b.name === inv.newest?.name
        ? `**${b.name}** (newest completed)`
        : b.method === 'volumeSnapshot'
          ? `${b.name} (volume snapshot: never used by a barman restore)`
          : b.name;
    out.push(
      markdownTable(
        ['Backup', 'Phase', 'Method', 'Backup ID', 'Started', 'Stopped', 'Error'],
        inv.backups
          .slice(0, MAX_BACKUPS)
          .map((b) => [
            label(b),
            b.phase,
            b.method,
            b.backupId ?? '',
            b.startedAt ?? '',
            b.stoppedAt ?? '',
            b.error ?? '',
          ]),
      ),
    );
    if (inv.backups.length > MAX_BACKUPS) out.push(`(${inv.backups.length - MAX_BACKUPS} older backups not shown)\n`);
    if (inv.skipped?.length)
      out.push(
        `Not restorable by this drill (it restores from the object store): ${inv.skipped.map((x) => `${x.name}: ${x.why}`).join('; ')}.\n`,
      );
  } else out.push('No Backup objects found for this cluster.\n');
  out.push(archiving(inv));
  return out;
}

function archiving(inv: Inventory): string {
  const a = inv.archiving;
  const arch: string[] = [];
  if (a.condition)
    arch.push(
      `condition ContinuousArchiving=${a.condition.status}${a.condition.reason ? ` (${a.condition.reason})` : ''}`,
    );
  if (a.archiver) {
    const ago = a.lastArchivedAgeMs !== undefined ? ` ${formatDuration(a.lastArchivedAgeMs)} ago` : '';
    const lastFailed = a.archiver.lastFailedWal
      ? `, last ${a.archiver.lastFailedWal} at ${a.archiver.lastFailedTime}`
      : '';
    arch.push(
      `pg_stat_archiver: ${a.archiver.archivedCount} archived, last ${a.archiver.lastArchivedWal ?? 'none'}${ago}; ` +
        `${a.archiver.failedCount} failed${lastFailed}`,
    );
  }
  const detail = arch.length ? ` — ${arch.join('; ')}` : '';
  const newest =
    inv.newestAgeMs !== undefined ? `. Newest completed backup is ${formatDuration(inv.newestAgeMs)} old.` : '';
  return `WAL archiving: ${a.failing ? 'FAILING' : 'ok'}${detail}${newest}\n`;
}

function tail(r: DrillResult): string[] {
  const out: string[] = [];
  if (r.recoveryLog)
    out.push('### Recovery job log (tail)\n', '```\n' + r.recoveryLog.replace(/```/g, "'''") + '\n```\n');
  if (r.notes.length) out.push('### Notes\n', ...r.notes.map((n) => `- ${n}`), '');
  if (r.runUrl) out.push(`[Workflow run](${r.runUrl})\n`);
  return out;
}

function teardownText(r: DrillResult): string {
  if (r.kept) return 'skipped (keep-on-failure)';
  const t = r.teardown;
  if (!t) return r.recoveryCluster ? 'not run' : 'nothing to tear down';
  return t.clean ? `clean, verified in ${formatMs(t.ms)}` : `INCOMPLETE: ${t.leftovers.join('; ')}`;
}

const formatMs = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const secs = (s: number | undefined) => (s === undefined ? 'n/a' : `${s} s`);
const diff = (a?: number, b?: number) => (a === undefined || b === undefined ? 'n/a' : String(b - a));

/** How a live count was made, for the per-table column. */
function liveHow(c: CountComparison, on: string): string {
  if (c.liveSource === undefined) return 'n/a';
  return c.liveSource === 'count' ? `count(*) on the ${on}` : `estimate: ${STAT[c.liveSource]}`;
}

/** How each side was counted, and what could not be compared (with the grant that fixes it). */
function databaseCounting(db: DatabaseComparison): string[] {
  const out: string[] = [];
  for (const { why, names } of db.notCompared ? notComparedGroups(db.notCompared) : []) {
    out.push(
      why === 'permission'
        ? `Not compared (the drill's role ${db.notCompared!.role} may not read them on live): ` +
            `${names.join(', ')}. Grant: \`${db.notCompared!.grant}\`\n`
        : `Not compared: ${NOT_COMPARED_WHY[why]}: ${names.join(', ')}.\n`,
    );
  }
  const lc = db.liveCounted;
  const unread = db.restoreRead.failed ? `, ${db.restoreRead.failed} could not be read` : '';
  out.push(
    `Live counted on the ${lc.on}: ${lc.exact} exact (count(*)), ${lc.nLiveTup} estimated ` +
      `from pg_stat_user_tables.n_live_tup, ${lc.reltuples} from pg_class.reltuples. ` +
      `Restore read in full: ${db.restoreRead.tables} tables counted with count(*) in ${formatMs(db.restoreRead.ms)}${unread}.\n`,
  );
  return out;
}

function databaseSection(db: DatabaseComparison): string[] {
  const out: string[] = [];
  out.push(
    `### Database \`${db.database}\`: ${db.tablesCompared} tables compared, ${db.schemaDifferences.length} ` +
      `schema differences, ${db.outOfTolerance.length} out of tolerance\n`,
  );
  if (db.schemaDifferences.length) {
    out.push(
      markdownTable(
        ['Difference', 'Object', 'Name', 'Detail'],
        db.schemaDifferences
          .slice(0, MAX_ROWS)
          .map((d) => [
            d.kind === 'missing' ? 'missing in restore' : d.kind === 'extra' ? 'only in restore' : 'changed',
            d.objectType,
            d.name,
            d.detail,
          ]),
      ),
    );
  }
  out.push(...databaseCounting(db));
  const header = [
    'Table',
    'Live rows',
    'Live counted by',
    'Restored rows (full read)',
    'Difference',
    'Allowed',
    'Note',
  ];
  const row = (c: CountComparison) => [
    displayName(c.schema, c.table),
    c.live ?? 'n/a',
    liveHow(c, db.liveCounted.on),
    c.other ?? 'n/a',
    diff(c.live, c.other),
    c.allowed,
    c.note ?? '',
  ];
  if (db.outOfTolerance.length) {
    out.push('Tables out of tolerance:\n');
    out.push(markdownTable(header, db.outOfTolerance.slice(0, MAX_ROWS).map(row)));
  }
  if (db.counts.length && db.counts.length <= 50 && !db.outOfTolerance.length)
    out.push(markdownTable(header, db.counts.map(row)));
  else {
    // Too many tables to list: list those whose live side is an estimate (the large ones), where the tolerance means more.
    const estimated = db.counts.filter((c) => c.within && c.liveSource !== undefined && c.liveSource !== 'count');
    if (estimated.length) {
      out.push('Tables whose live count is an estimate:\n');
      out.push(markdownTable(header, estimated.slice(0, MAX_ROWS).map(row)));
      if (estimated.length > MAX_ROWS) out.push(`(${estimated.length - MAX_ROWS} more not shown)\n`);
    }
  }
  return out;
}

function verificationSection(v: Verification): string[] {
  const out: string[] = [];
  const tables = v.relations.filter((r) => r.kind === 'table');
  const indexes = v.relations.filter((r) => r.kind === 'index');
  const bad = v.relations.filter((r) => r.corruption.length || r.error !== undefined);
  const parent = indexes.filter((r) => r.check === 'bt_index_parent_check').length;
  const cs = v.checksums;
  const checker = v.mode === 'off' ? 'amcheck off' : `amcheck ${v.amcheckVersion ?? ''}`.trim();
  const found = bad.length ? `${bad.length} relation(s) with problems` : 'no problems';
  out.push(`### Verification of \`${v.database}\`: ${checker}, ${found}\n`);
  const lines: string[] = [];
  if (v.note) lines.push(v.note);
  if (v.mode !== 'off') {
    if (tables.length || !v.note) lines.push(`${tables.length} tables checked with verify_heapam (heap and TOAST)`);
    if (v.mode === 'amcheck')
      lines.push(
        `${indexes.length} B-tree indexes checked (${parent} with bt_index_parent_check, ` +
          `${indexes.length - parent} with bt_index_check), in ${formatMs(v.ms)}`,
      );
  }
  lines.push(
    cs.enabled
      ? `data checksums on: ${cs.failures ?? 0} page checksum failure(s) counted in pg_stat_database ` +
          `after every table was read${cs.lastFailure ? ` (last at ${cs.lastFailure})` : ''}`
      : 'data checksums off (initdb without --data-checksums): damaged pages are found only by amcheck and by the counts',
  );
  out.push(lines.join('; ') + '.\n');
  if (bad.length) {
    out.push(
      markdownTable(
        ['Relation', 'Check', 'Finding'],
        bad
          .slice(0, MAX_ROWS)
          .map((r) => [
            `${r.kind} ${displayName(r.schema, r.name)}`,
            r.check,
            r.corruption.length ? r.corruption.slice(0, 3).join('; ') : `not verified: ${r.error}`,
          ]),
      ),
    );
  }
  return out;
}

function toleranceText(r: DrillResult): string[] {
  if (!r.databases.length) return [];
  if (r.target?.judging) return [`How counts are judged: ${r.target.judging}.`, ...countingLines(r)];
  const when = r.restorePoint
    ? `Live counts were taken right after the restore point '${r.restorePoint.name}'; rows ` +
      `written on live between the marker and the count are absorbed by that tolerance.`
    : 'Live counts were taken at the drill start and the restore replays to the end ' +
      'of the archive, so rows written on live after the last archived WAL are ' +
      'expected to be missing; the tolerance absorbs ongoing writes, a larger gap fails.';
  return [
    `How counts are judged: a table passes when |restored − live| <= max(${r.tolerance.tolerance} × live, ` +
      `${r.tolerance.floor}). ${when}`,
    ...countingLines(r),
  ];
}

/** The recovery target row: what was asked, where recovery stopped, and the stop check. */
function targetText(r: DrillResult): string {
  const t = r.target;
  const rp = r.restorePoint ? `restore point '${r.restorePoint.name}' at ${r.restorePoint.lsn}` : undefined;
  if (!t) return rp ?? 'end of the archived WAL';
  const where = t.lsn
    ? `; stopped just before live's counting snapshot at ${t.lsn}${rp ? ` (${rp} forced the WAL switch)` : ''}`
    : rp
      ? `; ${rp}`
      : t.kind === 'latest'
        ? '; end of the archived WAL'
        : '';
  const stop = t.stop
    ? `; ${t.stop.ok ? 'stopped where asked' : 'did NOT stop where asked'}: ${t.stop.lines.join('; ')}`
    : '';
  return `${t.describe}${where}${stop}${t.judged ? '' : '; row counts reported, not judged (judge-counts: true to judge them)'}`;
}

function countingLines(r: DrillResult): string[] {
  const lines: string[] = [];
  lines.push(
    '- The restore is always read in full (count(*) of every table): its ' +
      'statistics came with the backup and say nothing about its data files.',
  );
  const live = r.databases.map((d) => d.liveCounted);
  if (live.some((l) => l.exact)) {
    const lag = live.some((l) => l.on === 'replica') ? ', on a replica: it trails the primary by its replay lag' : '';
    lines.push(`- Live count(*) (exact${lag}): the difference is only the rows written between the two moments.`);
  }
  if (live.some((l) => l.nLiveTup))
    lines.push(
      '- Live estimate from pg_stat_user_tables.n_live_tup: follows every committed insert ' +
        'and delete within seconds, but carries the sampling error of the last VACUUM/ANALYZE ' +
        'and rows of aborted transactions; a loss smaller than the tolerance plus that ' +
        'drift is not seen. Use live-counts: replica (or exact) for exact counts on both sides.',
    );
  if (live.some((l) => l.reltuples))
    lines.push(
      '- Live estimate from pg_class.reltuples: as of the last VACUUM/ANALYZE, so rows written since ' +
        'are missing from it too; the tolerance must absorb them, and a loss smaller than that is not seen.',
    );
  if (r.counting?.live === 'auto')
    lines.push(
      `- live-counts auto: exact below ${formatBytes(r.counting.liveExactMaxBytes)} per table (live-exact-max-size), estimated above.`,
    );
  return [lines.join('\n') + '\n'];
}

function windowText(w: RecoveryWindow): string[] {
  const oldest = w.restorable[0];
  const newest = w.restorable.at(-1);
  const range = oldest
    ? `: oldest ${oldest.name} (${oldest.stoppedAt ?? oldest.startedAt ?? '?'}), ` +
      `newest ${newest!.name} (${newest!.stoppedAt ?? newest!.startedAt ?? '?'})`
    : '';
  const rows: [string, string][] = [
    [
      'First recoverability point',
      `${w.firstRecoverabilityPoint ?? 'not published'}${w.startField ? ` (status.${w.startField})` : ''}`,
    ],
    ['Last successful backup', w.lastSuccessfulBackup ?? 'not published'],
    ...(w.lastFailedBackup ? [['Last failed backup', w.lastFailedBackup] as [string, string]] : []),
    ['Base backups a barman restore can start from', `${w.restorable.length}${range}`],
    ...(w.snapshots.length
      ? [['Volume snapshot backups (listed, not restorable by barman)', String(w.snapshots.length)] as [string, string]]
      : []),
  ];
  return [
    `Recovery window (from ${w.source}):\n`,
    markdownTable(
      ['', ''],
      rows.map(([k, v]) => [`**${k}**`, v]),
    ),
  ];
}
