// The job summary of a platform-install run: versions before and after, the checks, the CRDs
// applied and, on failure, the problems and diagnostics. Operators read this first.
import { cell, formatDuration, markdownTable } from '../report/format.js';
import type { AppliedCrd } from './crds.js';

export type CheckState = 'passed' | 'warning' | 'failed' | 'skipped';

export interface ReleaseSnapshot {
  revision?: number;
  status?: string;
  chartVersion?: string;
  operatorVersion?: string;
}

export interface InstallReport {
  release: string;
  namespace: string;
  chartName?: string;
  chartVersion?: string;
  before: ReleaseSnapshot;
  after: ReleaseSnapshot;
  expectedOperatorVersion?: string;
  expectedFrom?: string;
  checks: { name: string; state: CheckState; detail: string }[];
  crds: AppliedCrd[];
  outcome: 'installed' | 'refused' | 'failed';
  problems: string[];
  diagnostics?: string;
  startedAt: number;
}

const ICON: Record<CheckState, string> = { passed: '✅', warning: '⚠️', failed: '❌', skipped: '➖' };
const HEADLINE: Record<InstallReport['outcome'], string> = {
  installed: '✅ installed',
  refused: '⛔ refused before touching the cluster',
  failed: '❌ failed',
};

export function renderReport(r: InstallReport): string {
  const parts: string[] = [];
  parts.push(`## platform-install: ${r.release} in ${r.namespace} — ${HEADLINE[r.outcome]}\n`);
  parts.push(
    markdownTable(
      ['', 'before', 'after'],
      [
        ['revision', r.before.revision ?? 'none', r.after.revision ?? '-'],
        ['release status', r.before.status ?? 'not installed', r.after.status ?? '-'],
        [
          `chart ${r.chartName ?? ''}`.trim(),
          r.before.chartVersion ?? '-',
          r.after.chartVersion ?? (r.chartVersion ? `${r.chartVersion} (not installed)` : '-'),
        ],
        ['operator version', r.before.operatorVersion ?? '-', r.after.operatorVersion ?? '-'],
      ],
    ),
  );
  if (r.expectedOperatorVersion)
    parts.push(`Expected operator version **${r.expectedOperatorVersion}** (from ${r.expectedFrom}).\n`);
  if (r.problems.length)
    parts.push(`### Problems\n\n${r.problems.map((p) => `- ${cell(p).replace(/<br>/g, ' ')}`).join('\n')}\n`);
  parts.push(
    `### Checks\n\n${markdownTable(
      ['check', 'result', 'detail'],
      r.checks.map((c) => [c.name, `${ICON[c.state]} ${c.state}`, c.detail]),
    )}`,
  );
  parts.push(
    `### CRDs (crds/ folders: server-side apply by platform-install; templated: Helm's)\n\n` +
      (r.crds.length
        ? markdownTable(
            ['CRD', 'change', 'served versions', 'Established after', 'applied by'],
            r.crds.map((c) => [c.name, c.change, c.versions.join(', '), formatDuration(c.establishedMs), c.by]),
          )
        : '_none applied_\n'),
  );
  if (r.diagnostics)
    parts.push(
      `### Diagnostics\n\n<details open><summary>helm history, pods and events</summary>\n\n${r.diagnostics}\n</details>\n`,
    );
  parts.push(`_Took ${formatDuration(Date.now() - r.startedAt)}._\n`);
  return parts.join('\n');
}
