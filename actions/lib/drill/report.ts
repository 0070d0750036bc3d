// The drill's report: verdict first, then RTO/RPO, phase timings, backup inventory, schema
// differences and tables out of tolerance. Markdown that reads well both as the job summary
// and as plain text in the terminal (no HTML).
import { formatBytes, formatDuration, markdownTable } from '../report/format.js';
import type { Inventory } from './inventory.js';
import type { DatabaseComparison, DrillResult } from './result.js';

const MAX_ROWS = 200;

export function renderReport(r: DrillResult): string {
  const sections = [headline(r), facts(r), phaseTimings(r), r.inventory ? inventory(r.inventory) : [], ...r.databases.map(database), countsNote(r), tail(r)];
  return sections.flat().join('\n');
}

function headline(r: DrillResult): string[] {
  const icon = r.verdict === 'passed' ? '✅' : '❌';
  const out = [`## ${icon} Restore drill ${r.verdict.toUpperCase()}: ${r.namespace}/${r.cluster}\n`];
  if (r.reasons.length) out.push('**Reasons**\n', ...r.reasons.map((reason) => `- ${reason}`), '');
  return out;
}

function facts(r: DrillResult): string[] {
  const rows: [string, string][] = [
    ['RTO (recovery cluster created -> healthy)', r.rtoSeconds !== undefined ? `${r.rtoSeconds} s (${formatDuration(r.rtoSeconds * 1000)})` : 'n/a'],
    ['RPO (restored data behind live at drill start)', r.rpo?.seconds !== undefined ? `${r.rpo.seconds} s` : 'n/a'],
    ['RPO in WAL', r.rpo?.bytes !== undefined ? formatBytes(r.rpo.bytes) : 'n/a'],
    ['Backup mode', r.mode ?? 'n/a'],
    ['Backup restored', r.backupId ?? 'n/a'],
    ['Recovery target', r.restorePoint ? `restore point '${r.restorePoint.name}' at ${r.restorePoint.lsn}` : 'end of the archived WAL'],
    ['Restored in', r.recoverySite?.where ?? `namespace ${r.namespace} (next to the live cluster)`],
    ['Restored from (object store)', r.recoverySite?.objectStore ?? 'n/a'],
    ['Recovery cluster', r.recoveryCluster ? `${r.recoveryCluster}${r.kept ? ' (KEPT for debugging: delete it by hand)' : ''}` : 'not created'],
    ['Teardown', teardownText(r)],
  ];
  const out = [markdownTable(['', ''], rows.map(([k, v]) => [`**${k}**`, v]))];
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

function inventory(inv: Inventory): string[] {
  const out = ['### Backup inventory\n'];
  if (inv.backups.length) {
    out.push(
      markdownTable(
        ['Backup', 'Phase', 'Method', 'Backup ID', 'Started', 'Stopped', 'Error'],
        inv.backups.slice(0, 30).map((b) => [b.name === inv.newest?.name ? `**${b.name}** (newest completed)` : b.name, b.phase, b.method, b.backupId ?? '', b.startedAt ?? '', b.stoppedAt ?? '', b.error ?? '']),
      ),
    );
    if (inv.backups.length > 30) out.push(`(${inv.backups.length - 30} older backups not shown)\n`);
  } else out.push('No Backup objects found for this cluster.\n');
  out.push(archiving(inv));
  return out;
}

function archiving(inv: Inventory): string {
  const a = inv.archiving;
  const arch: string[] = [];
  if (a.condition) arch.push(`condition ContinuousArchiving=${a.condition.status}${a.condition.reason ? ` (${a.condition.reason})` : ''}`);
  if (a.archiver) {
    arch.push(
      `pg_stat_archiver: ${a.archiver.archivedCount} archived, last ${a.archiver.lastArchivedWal ?? 'none'}${a.lastArchivedAgeMs !== undefined ? ` ${formatDuration(a.lastArchivedAgeMs)} ago` : ''}; ${a.archiver.failedCount} failed${a.archiver.lastFailedWal ? `, last ${a.archiver.lastFailedWal} at ${a.archiver.lastFailedTime}` : ''}`,
    );
  }
  return `WAL archiving: ${a.failing ? 'FAILING' : 'ok'}${arch.length ? ` — ${arch.join('; ')}` : ''}${inv.newestAgeMs !== undefined ? `. Newest completed backup is ${formatDuration(inv.newestAgeMs)} old.` : ''}\n`;
}

function database(db: DatabaseComparison): string[] {
  const out = [`### Database \`${db.database}\`: ${db.tablesCompared} tables compared, ${db.schemaDifferences.length} schema differences, ${db.outOfTolerance.length} out of tolerance\n`];
  if (db.schemaDifferences.length) {
    out.push(
      markdownTable(
        ['Difference', 'Object', 'Name', 'Detail'],
        db.schemaDifferences.slice(0, MAX_ROWS).map((d) => [d.kind === 'missing' ? 'missing in restore' : d.kind === 'extra' ? 'only in restore' : 'changed', d.objectType, d.name, d.detail]),
      ),
    );
  }
  if (db.outOfTolerance.length) {
    out.push('Tables out of tolerance:\n');
    out.push(
      markdownTable(
        ['Table', 'Live rows', 'Restored rows', 'Difference', 'Allowed', 'Note'],
        db.outOfTolerance.slice(0, MAX_ROWS).map((c) => [`${c.schema}.${c.table}`, c.live ?? 'n/a', c.other ?? 'n/a', diff(c.live, c.other), c.allowed, c.note ?? '']),
      ),
    );
  }
  if (db.counts.length && db.counts.length <= 50 && !db.outOfTolerance.length) {
    out.push(markdownTable(['Table', 'Live rows', 'Restored rows', 'Difference', 'Allowed'], db.counts.map((c) => [`${c.schema}.${c.table}`, c.live ?? 'n/a', c.other ?? 'n/a', diff(c.live, c.other), c.allowed])));
  }
  out.push(`Counts: ${db.countMethods.exact} exact, ${db.countMethods.estimate} estimated from statistics.\n`);
  return out;
}

function countsNote(r: DrillResult): string[] {
  if (!r.databases.length) return [];
  const when = r.restorePoint
    ? `Live counts were taken right after the restore point '${r.restorePoint.name}'; rows written on live between the marker and the count are absorbed by that tolerance.`
    : 'Live counts were taken at the drill start and the restore replays to the end of the archive, so rows written on live after the last archived WAL are expected to be missing; the tolerance absorbs ongoing writes, a larger gap fails.';
  return [`How counts are judged: a table passes when |restored − live| <= max(${r.tolerance.tolerance} × live, ${r.tolerance.floor}). ` + when + '\n'];
}

function tail(r: DrillResult): string[] {
  const out: string[] = [];
  if (r.recoveryLog) out.push('### Recovery job log (tail)\n', '```\n' + r.recoveryLog.replace(/```/g, "'''") + '\n```\n');
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
