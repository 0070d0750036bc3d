// Shared pieces of the drill's e2e suites: run the bundled action against a playground and
// check that nothing the drill created is left.
import { readFileSync } from 'node:fs';
import { runAction, type RunOptions, type RunResult } from '../helpers/run-action.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { CLUSTERS } from '../helpers/live-cluster.js';
import { reportProblems } from '../helpers/report-schema.js';

let runs = 0;

/** Runs the drill's main step like the runner; each run gets its own run id (and so its own recovery cluster name). */
export async function runDrill(
  pgd: PlaygroundHandle,
  inputs: Record<string, string | number | boolean | undefined>,
  opts: RunOptions = {},
): Promise<RunResult> {
  const runId = String(9000 + ++runs + Math.floor(Math.random() * 1000) * 100);
  const r = await runAction('cnpg-restore-drill', 'main', {
    timeoutMs: 240_000,
    ...opts,
    // same-moment-wait 0: these suites judge with the tolerance, as before pinning the restore to live's counting
    // moment; pinning waits for archive_timeout (60 s on these live clusters) and is proven in drill-targets.test.ts.
    inputs: {
      kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8'),
      'live-counts': 'exact',
      'same-moment-wait': '0',
      ...inputs,
    },
    env: { GITHUB_RUN_ID: runId, ...(opts.env ?? {}) },
  });
  // Every report a drill writes conforms to the versioned schema (report.v1.schema.json).
  const problems = r.report === undefined ? [] : reportProblems(r.report);
  if (problems.length) throw new Error(`the JSON report does not conform to its schema:\n${problems.join('\n')}`);
  return r;
}

/** Everything the drill could have created for `cluster`, as "kind/name" strings. */
export function leftovers(pgd: PlaygroundHandle, namespace: string, cluster: string): string[] {
  const out: string[] = [];
  if (pgd.store.get(CLUSTERS, namespace, cluster)) out.push(`Cluster/${cluster}`);
  const sel = { labelSelector: `cnpg.io/cluster=${cluster}` };
  for (const [gvr, kind] of [
    ['v1/pods', 'Pod'],
    ['v1/persistentvolumeclaims', 'PVC'],
    ['batch/v1/jobs', 'Job'],
  ] as const) {
    for (const o of pgd.store.list(gvr, namespace, sel).items) out.push(`${kind}/${o.metadata.name}`);
  }
  for (const pv of pgd.store.list('v1/persistentvolumes').items) {
    if (pv.spec?.claimRef?.namespace === namespace && String(pv.spec.claimRef.name).startsWith(`${cluster}-`))
      out.push(`PV/${pv.metadata.name}`);
  }
  return out;
}

/** Drill clusters of any run still in the namespace. */
export function drillClusters(pgd: PlaygroundHandle, namespace: string): string[] {
  return pgd.store
    .list(CLUSTERS, namespace, { labelSelector: 'app.kubernetes.io/managed-by=cnpg-restore-drill' })
    .items.map((c) => c.metadata.name);
}

export function writes(pgd: PlaygroundHandle, since: number): string[] {
  return pgd.requestLog
    .entries()
    .filter((e) => e.time >= since && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(e.method))
    .map((e) => `${e.method} ${e.path}`);
}

export function explain(r: RunResult): string {
  return `exit ${r.exitCode}\n--- errors\n${r.errors.join('\n')}\n--- stdout (tail)\n${r.stdout.split('\n').slice(-60).join('\n')}\n--- stderr\n${r.stderr.slice(-3000)}`;
}
