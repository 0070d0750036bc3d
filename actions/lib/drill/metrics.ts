// The drill's Prometheus metrics, built with prom-client's Registry and Gauges (the exposition
// format) from the DrillResult, labelled by cluster and namespace. Pushed to a Pushgateway with
// POST (grouping: job cnpg-restore-drill / namespace / cluster), which replaces only the metric
// names pushed: a failed drill does not push last_success, so the last success survives it. The
// push is a plain fetch: prom-client's Pushgateway class parses URLs with the deprecated url.parse.
// A textfile (node_exporter's collector) is rewritten atomically, carrying the last success over.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Gauge, Registry } from 'prom-client';
import type { DrillResult } from './result.js';

export const METRICS_JOB = 'cnpg-restore-drill';
const P = 'cnpg_restore_drill_';
const VERDICTS = ['passed', 'failed', 'error'] as const;
const LAST_SUCCESS = `${P}last_success_timestamp_seconds`;

type Labels = { cluster: string; namespace: string };

function gauge(registry: Registry, name: string, help: string, extra: string[] = []) {
  return new Gauge({ name: P + name, help, labelNames: ['cluster', 'namespace', ...extra], registers: [registry] });
}

/** The registry for one drill; `lastSuccess` (epoch s) when the drill failed but an earlier one passed. */
export function drillRegistry(result: DrillResult, now: Date, lastSuccess?: number): Registry {
  const registry = new Registry();
  const l: Labels = { cluster: result.cluster, namespace: result.namespace };
  const at = now.getTime() / 1000;
  const measured = (v: number | undefined) => v ?? NaN;
  gauge(registry, 'last_run_timestamp_seconds', 'End of the last drill (Unix time).').set(l, at);
  const success = result.verdict === 'passed' ? at : lastSuccess;
  if (success !== undefined)
    gauge(registry, 'last_success_timestamp_seconds', 'End of the last passing drill.').set(l, success);
  const verdict = gauge(registry, 'result', 'The last drill’s verdict: 1 for its result, 0 for the others.', [
    'result',
  ]);
  for (const v of VERDICTS) verdict.set({ ...l, result: v }, result.verdict === v ? 1 : 0);
  gauge(registry, 'rto_seconds', 'Recovery cluster created -> healthy (NaN: not measured).').set(
    l,
    measured(result.rtoSeconds),
  );
  gauge(registry, 'rpo_seconds', 'Seconds the restore trailed live at drill start.').set(
    l,
    measured(result.rpo?.seconds),
  );
  gauge(registry, 'rpo_bytes', 'Bytes of WAL the restore trailed live at drill start.').set(
    l,
    measured(result.rpo?.bytes),
  );
  const phase = gauge(registry, 'phase_duration_seconds', 'Duration of each phase of the last drill.', ['phase']);
  for (const p of result.phases) phase.set({ ...l, phase: p.phase }, p.ms / 1000);
  const sum = (f: (d: DrillResult['databases'][number]) => number) => result.databases.reduce((n, d) => n + f(d), 0);
  gauge(registry, 'tables_compared', 'Tables whose row counts were compared.').set(
    l,
    sum((d) => d.tablesCompared),
  );
  gauge(registry, 'schema_differences', 'Schema differences between live and the restore.').set(
    l,
    sum((d) => d.schemaDifferences.length),
  );
  gauge(registry, 'tables_out_of_tolerance', 'Tables whose counts differ beyond the tolerance.').set(
    l,
    sum((d) => d.outOfTolerance.length),
  );
  const problems = (result.verifications ?? []).reduce(
    (n, v) => n + v.relations.filter((r) => r.corruption.length || r.error).length + (v.checksums.failures ?? 0),
    0,
  );
  gauge(registry, 'verification_problems', 'Relations with amcheck findings or errors, plus checksum failures.').set(
    l,
    problems,
  );
  return registry;
}

/** POSTs the metrics to the Pushgateway's group job/namespace/cluster. */
export async function pushMetrics(gateway: string, result: DrillResult, registry: Registry, timeoutMs: number) {
  const group = ['namespace', result.namespace, 'cluster', result.cluster].map(encodeURIComponent).join('/');
  const url = `${gateway.replace(/\/+$/, '')}/metrics/job/${METRICS_JOB}/${group}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': registry.contentType },
    body: await registry.metrics(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`the Pushgateway answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/** The last success a textfile holds for this cluster (carried over by a failed drill). */
export function textfileLastSuccess(path: string, l: Labels): number | undefined {
  if (!existsSync(path)) return undefined;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith(`${LAST_SUCCESS}{`)) continue;
    if (line.includes(`cluster="${l.cluster}"`) && line.includes(`namespace="${l.namespace}"`))
      return Number(line.split(' ').at(-1));
  }
  return undefined;
}

export async function writeTextfile(path: string, registry: Registry): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, await registry.metrics());
  renameSync(tmp, path);
}
