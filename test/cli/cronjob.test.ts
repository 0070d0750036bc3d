// The in-cluster schedule end to end: `helm install` the chart (workflows/helm/cnpg-restore-drill) on
// a playground enforcing RBAC, `kubectl create job --from=cronjob/...` (a first run while suspended),
// and the Job's pod really runs the image's entrypoint (test/helpers/drill-image.ts) with the pod's
// env, args and mounted ServiceAccount token: the drill passes with the chart's Roles, its JSON report
// in the pod log; a Role missing a verb ends the drill as an error (exit 3) and the Job failed.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { KubeObject, PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, waitFor } from '../helpers/live-cluster.js';
import { runDrillImageOn } from '../helpers/drill-image.js';
import type { ProcessRuntime } from '../playground/apiserver/controllers/process-runtime.js';
import { reportProblems } from '../helpers/report-schema.js';
import { repoRoot } from '../helpers/run-action.js';
import { drillClusters, leftovers } from '../drill/support.js';

const NS = 'default';
const CHART = join(repoRoot, 'workflows/helm/cnpg-restore-drill');
const cronJobOf = (release: string) => `${release}-cnpg-restore-drill`;
const IMAGE = 'ghcr.io/cnpg-actions/cnpg-restore-drill';
let pgd: PlaygroundHandle;
let runtime: ProcessRuntime;
// As the CLI suites: judge with the tolerance (pinning waits for archive_timeout; drill-targets proves it).
const quick = ['--set-string', 'inputs.live-counts=exact', '--set-string', 'inputs.same-moment-wait=0'];

const tool = (name: string) => async (args: string[]) => {
  const r = await promisify(execFile)(join(repoRoot, '.tools/bin', name), args, {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: pgd.kubeconfigPath, HOME: pgd.dir },
  }).catch((e: { stdout: string; stderr: string; code: number }) => {
    throw new Error(`${name} ${args.join(' ')} exited ${e.code}: ${e.stderr}`);
  });
  return r.stdout;
};
const helm = tool('helm');
const kubectl = tool('kubectl');

const jobDone = (name: string) =>
  waitFor(
    `job ${name} finished`,
    () => {
      const job = pgd.store.get('batch/v1/jobs', NS, name);
      const c = job?.status?.conditions?.find(
        (x: { type: string; status: string }) => ['Complete', 'Failed'].includes(x.type) && x.status === 'True',
      );
      return c ? { job: job!, condition: c.type as string } : undefined;
    },
    300_000,
    500,
  );

/** The pod's container state once the Job ran it. */
const podOf = (job: KubeObject): KubeObject =>
  pgd.store.list('v1/pods', NS, { labelSelector: `batch.kubernetes.io/job-name=${job.metadata.name}` }).items[0];

/** The `--json` result in the pod log: the last line that opens a top-level JSON object, to its end. */
function jsonOf(log: string): { verdict: string; exitCode: number; result: { recoveryCluster: string } } {
  const start = log.lastIndexOf('\n{\n');
  const end = log.indexOf('\n}\n', start);
  return JSON.parse(log.slice(start + 1, end + 2));
}

beforeAll(async () => {
  pgd = await startPlayground({ rbac: true });
  runtime = runDrillImageOn(pgd, IMAGE);
  await createLiveCluster(pgd, { name: 'shop', mode: 'in-tree', rows: 400, rowsAfterBackup: 20 });
}, 300_000);
afterAll(async () => {
  await runtime?.stop();
  await pgd?.stop();
});

describe('the chart on a cluster: CronJob, first run by hand, the drill in its pod', () => {
  it('passes with the chart’s Roles, the JSON report in the pod log; uninstall leaves nothing', async () => {
    const since = Date.now();
    const [RELEASE, CRONJOB] = ['shop-drill', cronJobOf('shop-drill')];
    await helm(['install', RELEASE, CHART, '-n', NS, '--set', 'cluster=shop', ...quick]);
    expect(await kubectl(['get', `cronjob/${CRONJOB}`, '-n', NS, '-o', 'jsonpath={.spec.suspend}'])).toBe('true');
    await kubectl(['create', 'job', '--from', `cronjob/${CRONJOB}`, 'first-drill', '-n', NS]);
    const { job, condition } = await jobDone('first-drill');
    const log = await kubectl(['logs', 'job/first-drill', '-n', NS]);
    expect(condition, log.slice(-4000)).toBe('Complete');
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: CRONJOB });
    expect(job.metadata.annotations).toMatchObject({ 'cronjob.kubernetes.io/instantiate': 'manual' });
    expect(await kubectl(['get', 'cronjobs', '-n', NS])).toContain(CRONJOB);
    const report = jsonOf(log);
    expect(report).toMatchObject({ command: 'run', verdict: 'passed', exitCode: 0 });
    expect(reportProblems(report)).toEqual([]);
    expect(log).toContain('▶ create the recovery cluster');
    // In-cluster credentials (client-node's loadFromCluster), read where a pod has them.
    expect(log).toContain('token file /var/run/secrets/kubernetes.io/serviceaccount/token (JWT exp): valid until');
    expect(podOf(job).status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0 });
    // The pod's ServiceAccount with the chart's Roles: never refused.
    const refused = pgd.requestLog.entries().filter((e) => e.time >= since && e.status === 403);
    expect(refused.map((e) => `${e.method} ${e.path}`)).toEqual([]);

    await helm(['uninstall', RELEASE, '-n', NS, '--wait']);
    await waitFor(
      'the CronJob, its Jobs and their pods gone',
      () =>
        ['batch/v1/cronjobs', 'batch/v1/jobs'].every((gvr) => pgd.store.list(gvr, NS).items.length === 0) &&
        pgd.store.list('v1/pods', NS, { labelSelector: 'batch.kubernetes.io/job-name' }).items.length === 0,
    );
    expect(drillClusters(pgd, NS)).toEqual([]);
    expect(leftovers(pgd, NS, report.result.recoveryCluster)).toEqual([]);
    for (const gvr of [
      'v1/serviceaccounts',
      'rbac.authorization.k8s.io/v1/roles',
      'rbac.authorization.k8s.io/v1/rolebindings',
    ])
      expect(pgd.store.get(gvr, NS, CRONJOB), gvr).toBeUndefined();
    expect(pgd.store.list('rbac.authorization.k8s.io/v1/clusterroles').items.map((r) => r.metadata.name)).not.toContain(
      `${NS}-${CRONJOB}-volumes`,
    );
  }, 400_000);

  it('a Role missing a verb: the drill is an error (exit 3), the Job failed, nothing created', async () => {
    const [RELEASE, CRONJOB] = ['shop-no-create', cronJobOf('shop-no-create')];
    await helm(['install', RELEASE, CHART, '-n', NS, '--set', 'cluster=shop', ...quick]);
    // No `create` of Clusters: the recovery cluster cannot be made.
    await kubectl([
      'patch',
      `role/${CRONJOB}`,
      '-n',
      NS,
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/rules/0/verbs","value":["get","list","watch","delete"]}]',
    ]);
    await kubectl(['create', 'job', '--from', `cronjob/${CRONJOB}`, 'no-create', '-n', NS]);
    const { job, condition } = await jobDone('no-create');
    const log = await kubectl(['logs', 'job/no-create', '-n', NS]);
    expect(condition, log.slice(-4000)).toBe('Failed');
    expect(podOf(job).status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    const report = jsonOf(log);
    expect(report).toMatchObject({ verdict: 'error', exitCode: 3 });
    expect(reportProblems(report)).toEqual([]);
    expect(log).toMatch(/forbidden|403/i);
    expect(drillClusters(pgd, NS)).toEqual([]);
    await helm(['uninstall', RELEASE, '-n', NS, '--wait']);
  }, 400_000);
});
