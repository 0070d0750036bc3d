// The job summary operators read first: verdict, the gates with values and thresholds, the
// clean streak against the window, and a small text timeline of recent samples.
import { cell, formatBytes, formatDuration, markdownTable } from '../report/format.js';
import type { Gate } from './gates.js';
import type { HistoryRecord, Sample, Streak } from './history.js';

export interface ReportInput {
  title: string;
  passed: boolean;
  gates: Gate[];
  streak?: Streak;
  soakMs: number;
  maxGapMs: number;
  history?: HistoryRecord;
  notes: string[];
}

export function renderReport(r: ReportInput): string {
  const failing = r.gates.filter((g) => !g.passed).map((g) => g.name);
  const lines: string[] = [];
  lines.push(`## Soak gate: ${r.title}`, '');
  lines.push(
    r.passed ? '**PASSED**: every gate holds; the cutover may proceed.' : `**BLOCKED** by: ${failing.join(', ')}`,
    '',
  );
  lines.push(
    markdownTable(
      ['Gate', 'Result', 'Value', 'Threshold', 'Detail'],
      r.gates.map((g) => [g.name, g.passed ? 'pass' : 'FAIL', g.value, g.threshold, g.detail]),
    ),
  );
  if (r.streak) {
    const pct = Math.min(100, Math.floor((r.streak.cleanMs / r.soakMs) * 100));
    lines.push(
      `**Clean streak**: ${formatDuration(r.streak.cleanMs)} of ${formatDuration(r.soakMs)} (${pct}%) \`${bar(pct)}\``,
      '',
    );
  }
  if (r.history?.samples.length) {
    lines.push(
      `Recent samples (newest last; max gap ${formatDuration(r.maxGapMs)}):`,
      '',
      '```',
      timeline(r.history.samples, r.maxGapMs),
      '```',
      '',
    );
  }
  for (const n of r.notes) lines.push(`> ${cell(n)}`, '');
  return lines.join('\n');
}

function bar(pct: number): string {
  const filled = Math.round(pct / 5);
  return '#'.repeat(filled) + '.'.repeat(20 - filled);
}

/** One line per recent sample, with the gaps that restart the streak shown between them. */
export function timeline(samples: Sample[], maxGapMs: number, last = 24): string {
  const shown = samples.slice(-last);
  const out: string[] = [];
  if (samples.length > shown.length) out.push(`... ${samples.length - shown.length} older samples`);
  shown.forEach((s, i) => {
    const prev = i > 0 ? shown[i - 1] : undefined;
    const gap = prev ? Date.parse(s.t) - Date.parse(prev.t) : 0;
    if (prev && gap > maxGapMs) out.push(`   -- gap ${formatDuration(gap)}: streak restarts --`);
    const when = s.t.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');
    const measures =
      `sub ${formatBytes(s.lag)}  slot ${formatBytes(s.slot)}  ` +
      `msg ${s.age === undefined ? 'n/a' : formatDuration(s.age * 1000)}`;
    out.push(`${when}  ${s.ok ? 'ok ' : 'BAD'}  ${measures}${s.ok ? '' : `  [${(s.fail ?? []).join(', ')}]`}`);
  });
  return out.join('\n');
}
