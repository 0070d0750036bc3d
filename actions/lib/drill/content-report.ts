// compare: content and user checks in words: the verdict's reasons (judged differences only) and
// the report's sections. Never a row's contents; a check's values only when it says show: true.
import { markdownTable } from '../report/format.js';
import type { CheckRun, UserCheck } from '../postgres/content-checks.js';
import type { ContentComparison, TableContent } from './content-compare.js';
import type { DrillError } from './result.js';

export interface CheckResult {
  name: string;
  database: string;
  kind: 'expect' | 'same-as-live';
  status: 'passed' | 'failed' | 'error' | 'not judged';
  detail: string;
  /** Only with show: true. */
  values?: { live?: string; restored?: string; expected?: string };
}

/** Judges one check from its restore run (and live's, for same-as-live). */
export function judgeCheck(c: UserCheck, restored: CheckRun, live: CheckRun | undefined, exact: boolean): CheckResult {
  const kind = c.sameAsLive ? 'same-as-live' : 'expect';
  const base = { name: c.name, database: c.database, kind } as const;
  const values = (v: CheckResult['values']) => (c.show ? { values: v } : {});
  if ('error' in restored) return { ...base, status: 'error', detail: `on the restore: ${restored.error}` };
  if (!c.sameAsLive) {
    const ok = restored.value === c.expect;
    const detail = ok ? 'the restore gives the expected value' : 'the restore does not give the expected value';
    return {
      ...base,
      status: ok ? 'passed' : 'failed',
      detail,
      ...values({ restored: restored.value, expected: c.expect }),
    };
  }
  if (!live || 'error' in live)
    return { ...base, status: 'error', detail: `on live: ${live && 'error' in live ? live.error : 'not evaluated'}` };
  const v = values({ live: live.value, restored: restored.value });
  if (live.value === restored.value) return { ...base, status: 'passed', detail: 'same on live and the restore', ...v };
  if (!exact)
    return {
      ...base,
      status: 'not judged',
      detail: 'differs, but live was not read at the moment the restore stops',
      ...v,
    };
  return { ...base, status: 'failed', detail: 'differs between live (at the pinned moment) and the restore', ...v };
}

const rangesText = (t: TableContent) => {
  const counts = `(live ${t.liveRows} rows, restored ${t.restoredRows})`;
  if (t.noPrimaryKey) return `no primary key, so the difference cannot be narrowed to key ranges ${counts}`;
  if (!t.ranges) return `${t.narrowing ?? 'not narrowed'} ${counts}`;
  const shown = t.ranges
    .slice(0, 3)
    .map((r) => `${r.range} (live ${r.liveRows} rows, restored ${r.restoredRows})`)
    .join('; ');
  return `${t.ranges.length} key range(s) differ: ${shown}${t.ranges.length > 3 ? '; ...' : ''} (${t.narrowing})`;
};

/** Verdict lines: differing tables and impossible sequences, when judged; failed checks. */
export function contentReasons(c: ContentComparison): string[] {
  if (!c.judged) return [];
  const out = c.differing
    .slice(0, 5)
    .map((t) => `database ${c.database}: content of ${t.table} differs from live: ${rangesText(t)}`);
  if (c.differing.length > 5)
    out.push(`database ${c.database}: ${c.differing.length - 5} more table(s) differ in content`);
  const seq = c.sequences.differing.filter((s) => s.verdict === 'too-far-ahead');
  if (seq.length)
    out.push(
      `database ${c.database}: ${seq.length} sequence(s) further ahead of live than nextval pre-logs: ` +
        seq.map((s) => s.sequence).join(', '),
    );
  if (c.largeObjects.digest === 'differs')
    out.push(
      `database ${c.database}: large objects differ (live ${c.largeObjects.live}, restored ${c.largeObjects.restored})`,
    );
  return out;
}

export function checkReasons(checks: CheckResult[]): string[] {
  return checks
    .filter((c) => c.status === 'failed')
    .map((c) => `check '${c.name}' (database ${c.database}) failed: ${c.detail}`);
}

/**
 * Checks the user asked for that could not be evaluated (a statement refused or timed out, a database
 * not compared): the drill could not judge what it was asked to, so a drill with no fault found is an
 * error, never a pass (and never a failed backup: the query, not the restore, may be at fault).
 */
export function checksNotEvaluated(checks: CheckResult[] | undefined): DrillError | undefined {
  const errored = (checks ?? []).filter((c) => c.status === 'error');
  if (!errored.length) return undefined;
  return {
    kind: 'environment',
    message:
      `${errored.length} user check(s) could not be evaluated: ` +
      errored.map((c) => `'${c.name}' (database ${c.database}): ${c.detail}`).join('; '),
    fix:
      'make each check one read-only statement that finishes within statement-timeout on a database ' +
      'the drill compares (see the checks table in the summary), then re-run',
  };
}

const whole = (t: TableContent) =>
  t.noPrimaryKey ? 'no primary key: the whole table' : `the whole table (${t.narrowing ?? 'not narrowed'})`;

const HASHES =
  '- `#` values: keys of content-sensitive-keys tables, as HMAC-SHA-256 with a key drawn for this run: ' +
  'they tell ranges apart within this report only, not across runs.';

/** The report's section for one database's content comparison. */
export function contentSection(c: ContentComparison): string[] {
  const out = [
    `### Content of \`${c.database}\`: ${c.compared} table(s) digested, ${c.same} same, ` +
      `${c.differing.length} differ, ${c.notCompared.length} not compared` +
      `${c.judged ? '' : ' (reported, not judged: the restore does not stop at live’s snapshot)'}\n`,
    `Digest time: live ${c.liveMs} ms (in the pinned snapshot), ` +
      `restore ${c.restoreMs} ms (its row counts stand in for the full read).`,
  ];
  if (c.differing.length)
    out.push(
      '',
      markdownTable(
        ['Table', 'Key range', 'Live rows', 'Restored rows'],
        c.differing.flatMap((t) =>
          t.ranges
            ? t.ranges.slice(0, 10).map((r) => [t.table, r.range, String(r.liveRows), String(r.restoredRows)])
            : [[t.table, whole(t), String(t.liveRows), String(t.restoredRows)]],
        ),
      ),
      ...c.differing.flatMap((t) => (t.ranges ? [`- ${t.table}: ${t.narrowing}.`] : [])),
      ...(c.differing.some((t) => t.keysHashed && t.ranges) ? [HASHES] : []),
    );
  if (c.notCompared.length)
    out.push('', ...c.notCompared.slice(0, 20).map((t) => `- not compared: ${t.table}: ${t.why}`));
  out.push(
    '',
    `Sequences: ${c.sequences.compared} compared${c.sequences.error ? ` (${c.sequences.error})` : ''}` +
      `${c.sequences.differing.map((s) => `; ${s.sequence} ${s.verdict}`).join('')}.`,
    `Large objects: live ${c.largeObjects.live ?? 'n/a'}, restored ${c.largeObjects.restored ?? 'n/a'}, ` +
      `digest ${c.largeObjects.digest}${c.largeObjects.why ? ` (${c.largeObjects.why})` : ''}.`,
  );
  if (c.unpinnedTypes.length)
    out.push(`Columns digested by a text form the session settings do not pin: ${c.unpinnedTypes.join(', ')}.`);
  return [...out, ''];
}

export function checksSection(checks: CheckResult[]): string[] {
  if (!checks.length) return [];
  const shown = (c: CheckResult) =>
    c.values
      ? Object.entries(c.values)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')
      : '(hidden)';
  return [
    '### User checks\n',
    markdownTable(
      ['Check', 'Database', 'Kind', 'Result', 'Detail', 'Values'],
      checks.map((c) => [c.name, c.database, c.kind, c.status, c.detail, shown(c)]),
    ),
    '',
  ];
}
