// The JSON report: the drill's result as evidence that outlives a job log (SOC 2 / ISO restore
// proof). Its shape is actions/cnpg-restore-drill/report.v1.schema.json; a breaking change bumps
// REPORT_VERSION and adds a new schema file. The action writes it (output report-path), the CLI
// with --report.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Core } from '../core.js';
import { describeError } from '../errors.js';
import type { DrillResult } from './result.js';

export const REPORT_VERSION = 1;
/** The $id of report.v1.schema.json. */
export const REPORT_SCHEMA = 'urn:cnpg-actions:cnpg-restore-drill:report:v1';

export interface DrillReport {
  schema: typeof REPORT_SCHEMA;
  reportVersion: typeof REPORT_VERSION;
  tool: 'cnpg-restore-drill';
  /** run (the action or the CLI), or plan (CLI). */
  command: string;
  verdict: string;
  generatedAt: string;
  result: DrillResult;
  /** plan: what a run would create. */
  plan?: object;
}

export function drillReport(result: DrillResult, o: { command: string; plan?: object }): DrillReport {
  return {
    schema: REPORT_SCHEMA,
    reportVersion: REPORT_VERSION,
    tool: 'cnpg-restore-drill',
    command: o.command,
    verdict: result.verdict,
    generatedAt: new Date().toISOString(),
    result,
    ...(o.plan ? { plan: o.plan } : {}),
  };
}

/** Where the action writes it: the runner's temp directory, one file per cluster and run. */
export function defaultReportPath(env: NodeJS.ProcessEnv, result: DrillResult): string {
  const run = `${env.GITHUB_RUN_ID || 'local'}-${env.GITHUB_RUN_ATTEMPT || '1'}`;
  return join(env.RUNNER_TEMP || tmpdir(), `cnpg-restore-drill-${result.namespace}-${result.cluster}-${run}.json`);
}

/** Writes the report; a file that cannot be written is a warning, never a second failure. */
export function writeReport(core: Pick<Core, 'warning'>, path: string, report: DrillReport): boolean {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
    return true;
  } catch (err) {
    core.warning(`could not write the JSON report to ${path}: ${describeError(err)}`);
    return false;
  }
}
