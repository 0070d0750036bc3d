// The JSON report: the drill's result as evidence that outlives a job log, versioned.
import type { DrillResult } from '../drill/result.js';
import type { DrillPlan } from './plan.js';

export const REPORT_VERSION = 1;

export interface DrillReport {
  reportVersion: typeof REPORT_VERSION;
  tool: 'cnpg-restore-drill';
  command: string;
  verdict: string;
  outputs: Record<string, string>;
  result: DrillResult;
  plan?: DrillPlan;
}

export function drillReport(
  result: DrillResult,
  o: { command: string; outputs: Record<string, string>; plan?: DrillPlan },
): DrillReport {
  return {
    reportVersion: REPORT_VERSION,
    tool: 'cnpg-restore-drill',
    command: o.command,
    verdict: result.verdict,
    outputs: o.outputs,
    result,
    ...(o.plan ? { plan: o.plan } : {}),
  };
}
