// The operator emulator per version (CONFORMANCE.md 6.v): Job bootstrap with Kubernetes' default
// back-off (time scaled down, same order of events) and cleanup of completed Jobs up to 1.30.x,
// the failure phase before and after 1.28.4 / 1.29.2 / 1.30.0, and in-pod bootstrap in the
// `bootstrap-instance` init container on `main+pr11319` (restarted with CrashLoopBackOff, the phase stays
// 'Waiting for the instances to become active').
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER,
  appQuery,
  cluster,
  inTreeStore,
  startEnv,
  waitFor,
  waitHealthy,
  type TestEnv,
} from './cnpg/test-env.js';
import {
  bootstrapMode,
  parseOperatorVersion,
  surfacesFailedJobs,
  pluginsSupported,
  inTreeBarmanWarning,
} from './cnpg/versions.js';
import { startPlayground } from './playground.js';

const JOBS = 'batch/v1/jobs';
const PODS = 'v1/pods';

describe('version rules', () => {
  it('names what is emulated and refuses anything else before starting', async () => {
    expect(parseOperatorVersion('main')).toMatchObject({ minor: 31, trunk: true, inPod: false });
    expect(parseOperatorVersion('main+pr11319')).toMatchObject({ minor: 31, trunk: true, inPod: true });
    expect(parseOperatorVersion('v1.25.0')).toMatchObject({ minor: 25, patch: 0, trunk: false });
    for (const bad of ['1.24.4', '1.31.0', 'latest', '1.30'])
      expect(() => parseOperatorVersion(bad)).toThrow(/is not emulated; use a release from 1.25.0 to 1.30.x/);
    await expect(startPlayground({ operatorVersion: '1.24.0' })).rejects.toThrow(
      /operator version '1.24.0' is not emulated/,
    );
    expect(['1.25.4', '1.28.3', '1.28.4', '1.29.1', '1.29.2', '1.30.0', 'main'].map(surfacesFailedJobs)).toEqual([
      false,
      false,
      true,
      false,
      true,
      true,
      true,
    ]);
    // upstream main still builds the Job (pkg/specs/jobs.go@main); only PR #11319 bootstraps in the pod
    expect(['1.30.0', 'main', 'main+pr11319'].map(bootstrapMode)).toEqual(['job', 'job', 'in-pod']);
    expect(['1.25.4', '1.26.0'].map(pluginsSupported)).toEqual([false, true]);
    expect(inTreeBarmanWarning('1.25.4', ['spec.backup.barmanObjectStore'])).toBeUndefined();
    expect(inTreeBarmanWarning('1.27.2', ['spec.backup.barmanObjectStore'])).toContain(
      'will be completely removed in CloudNativePG 1.29.0. Found usage in: spec.backup.barmanObjectStore.',
    );
    expect(inTreeBarmanWarning('main', ['spec.externalClusters.0.barmanObjectStore'])).toContain(
      'removed in CloudNativePG 1.31.0',
    );
  });
});

/** Pods of a Job, oldest first. */
const jobPods = (env: TestEnv, job: string) =>
  env.store
    .list(PODS, 'default', { labelSelector: `job-name=${job}` })
    .items.sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));

describe.each(['1.25.4', '1.30.0'])('Job bootstrap: operator %s', (version) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startEnv({ version, jobBackoffLimit: undefined });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('initdb runs in Job <instance>-initdb (container initdb, restartPolicy Never, default backoffLimit); the completed Job goes once the instance reports', async () => {
    env.store.create(CLUSTER, cluster('jb'));
    await waitHealthy(env, 'jb', 90_000);
    const seen = env.seenJobs.get('jb-1-initdb')!;
    expect(seen.job.spec.backoffLimit).toBe(6);
    expect(seen.job.spec.template.spec).toMatchObject({
      restartPolicy: 'Never',
      containers: [{ name: 'initdb', command: ['/controller/manager', 'instance', 'init'] }],
    });
    expect(seen.job.metadata.labels).toMatchObject({
      'cnpg.io/cluster': 'jb',
      'cnpg.io/instanceName': 'jb-1',
      'cnpg.io/jobRole': 'initdb',
    });
    expect(seen.log).toContain('initdb completed');
    await waitFor(
      'completed Job deleted with its pods',
      () => !env.store.get(JOBS, 'default', 'jb-1-initdb') && jobPods(env, 'jb-1-initdb').length === 0,
      20_000,
    );
    expect(env.store.get(PODS, 'default', 'jb-1')!.spec.initContainers).toBeUndefined();
  });

  it("a failing recovery: one failed pod at a time with growing back-off, Failed after the 7th, then the version's phase", async () => {
    env.settings.failRecovery = { cluster: /^jfail$/, message: 'ERROR: injected restore failure' };
    const t0 = Date.now();
    env.store.create(
      CLUSTER,
      cluster('jfail', {
        bootstrap: { recovery: { source: 'origin' } },
        externalClusters: [{ name: 'origin', barmanObjectStore: { ...inTreeStore(env, 'none'), serverName: 'none' } }],
      }),
    );
    const job = 'jfail-1-full-recovery';
    const first = await waitFor(
      'first failed pod',
      () => jobPods(env, job).find((p) => p.status?.phase === 'Failed'),
      30_000,
    );
    const firstAt = Date.now();
    expect(first.status.containerStatuses[0]).toMatchObject({
      name: 'full-recovery',
      state: { terminated: { exitCode: 1 } },
    });
    expect(env.store.get(CLUSTER, 'default', 'jfail')!.status.phase).toBe('Setting up primary');
    const failed = await waitFor(
      'Job Failed',
      () =>
        env.store
          .get(JOBS, 'default', job)
          ?.status?.conditions?.find((c: any) => c.type === 'Failed' && c.status === 'True'),
      90_000,
      200,
    );
    const failedAt = Date.now();
    expect(failed.reason).toBe('BackoffLimitExceeded');
    const pods = jobPods(env, job);
    expect(pods.length).toBeLessThanOrEqual(7); // active pods go with Failed; failed pods stay for their logs
    expect(env.store.get(JOBS, 'default', job)!.status.failed).toBe(7);
    // 10+20+40+80+160+320 s of back-off, scaled by 1/20: ~31.5 s between the first failed pod and Failed.
    expect(failedAt - firstAt).toBeGreaterThan(25_000);
    const c = await waitFor(
      'phase settles',
      () => {
        const x = env.store.get(CLUSTER, 'default', 'jfail');
        return surfacesFailedJobs(version)
          ? x?.status.phase === 'Cluster is unrecoverable and needs manual intervention'
            ? x
            : undefined
          : x;
      },
      20_000,
    );
    if (surfacesFailedJobs(version))
      expect(c.status.phaseReason).toBe(
        `Instance creation failed for the following jobs: ${job}. Check the job logs to investigate the cause of the failure.`,
      );
    else {
      await new Promise((r) => setTimeout(r, 3000));
      expect(env.store.get(CLUSTER, 'default', 'jfail')!.status.phase).toBe('Setting up primary');
    }
    console.log(
      `operator ${version}: first failed pod after ${firstAt - t0} ms, Job Failed ${failedAt - firstAt} ms later (scaled back-off), phase '${env.store.get(CLUSTER, 'default', 'jfail')!.status.phase}'`,
    );
    env.settings.failRecovery = undefined;
  });
});

// Upstream main (unlike main+pr11319) still builds the Job: pkg/specs/jobs.go@main CreatePrimaryJob.
describe('upstream main: Job bootstrap', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startEnv({ version: 'main', jobBackoffLimit: undefined });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('initdb runs in Job <instance>-initdb, no bootstrap-instance init container', async () => {
    env.store.create(CLUSTER, cluster('um'));
    await waitHealthy(env, 'um', 90_000);
    expect(env.seenJobs.get('um-1-initdb')?.job.spec.template.spec.containers[0].name).toBe('initdb');
    expect(env.store.get(PODS, 'default', 'um-1')!.spec.initContainers).toBeUndefined();
  });
});

describe('in-pod bootstrap: operator main+pr11319', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startEnv({ version: 'main+pr11319', jobBackoffLimit: undefined });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('initdb and join run in the bootstrap-instance init container; no Job; the init container keeps its log', async () => {
    const phases: string[] = [];
    const stop = env.store.watch(CLUSTER, 'default', {}, (ev) => {
      const ph = ev.object.status?.phase;
      if (ev.object.metadata.name === 'ip' && ph && phases.at(-1) !== ph) phases.push(ph);
    });
    env.store.create(CLUSTER, cluster('ip', { instances: 2 }));
    await waitHealthy(env, 'ip', 120_000);
    stop();
    expect(env.store.list(JOBS, 'default', { labelSelector: 'cnpg.io/cluster=ip' }).items).toEqual([]);
    expect([...env.seenJobs.keys()].filter((k) => k.startsWith('ip-'))).toEqual([]);
    for (const [pod, cmd] of [
      ['ip-1', 'init'],
      ['ip-2', 'join'],
    ]) {
      const p = env.store.get(PODS, 'default', pod)!;
      expect(p.spec.restartPolicy).toBe('Always');
      expect(p.spec.initContainers.map((c: any) => c.name)).toEqual(['bootstrap-controller', 'bootstrap-instance']);
      expect(p.spec.initContainers[1].command).toEqual(['/controller/manager', 'instance', cmd]);
      expect(
        p.status.initContainerStatuses.find((c: any) => c.name === 'bootstrap-instance').state.terminated.exitCode,
      ).toBe(0);
      expect(p.status.phase).toBe('Running');
    }
    expect(env.api.logs.read('default', 'ip-1', 'bootstrap-instance')).toContain('initdb completed');
    expect(env.api.logs.read('default', 'ip-2', 'bootstrap-instance')).toContain('join completed');
    expect(phases[0]).toBe('Setting up primary');
    expect(phases).toContain('Waiting for the instances to become active');
    expect(phases.at(-1)).toBe('Cluster in healthy state');
    expect((await appQuery(env, 'ip', 'SELECT 1 AS one'))[0].one).toBe(1);
  });

  it('a failing recovery: the init container exits 1, crash-loops with growing back-off, the pod stays Pending, the phase never says unrecoverable', async () => {
    env.settings.failRecovery = { cluster: /^ipfail$/, message: 'ERROR: injected restore failure' };
    env.store.create(
      CLUSTER,
      cluster('ipfail', {
        bootstrap: { recovery: { source: 'origin' } },
        externalClusters: [{ name: 'origin', barmanObjectStore: { ...inTreeStore(env, 'none'), serverName: 'none' } }],
      }),
    );
    const init = (p: any) => p?.status?.initContainerStatuses?.find((c: any) => c.name === 'bootstrap-instance');
    const first = await waitFor(
      'first failed attempt',
      () => init(env.store.get(PODS, 'default', 'ipfail-1'))?.state?.terminated,
      30_000,
      20,
    );
    expect(first.exitCode).toBe(1);
    const loop = await waitFor(
      'CrashLoopBackOff',
      () => init(env.store.get(PODS, 'default', 'ipfail-1'))?.state?.waiting,
      10_000,
      20,
    );
    expect(loop.reason).toBe('CrashLoopBackOff');
    await waitFor(
      'restarted twice',
      () => (init(env.store.get(PODS, 'default', 'ipfail-1'))?.restartCount ?? 0) >= 2,
      30_000,
    );
    const pod = env.store.get(PODS, 'default', 'ipfail-1')!;
    expect(pod.status.phase).toBe('Pending');
    expect(pod.status.containerStatuses[0].state.waiting.reason).toBe('PodInitializing');
    expect(env.api.logs.read('default', 'ipfail-1', 'bootstrap-instance')).toContain('ERROR: injected restore failure');
    const c = env.store.get(CLUSTER, 'default', 'ipfail')!;
    expect(c.status.phase).toBe('Waiting for the instances to become active');
    expect(c.status.phaseReason).toBe('Some instances are not yet active. Please wait.');
    expect(env.store.list(JOBS, 'default', { labelSelector: 'cnpg.io/cluster=ipfail' }).items).toEqual([]);
    env.settings.failRecovery = undefined;
    env.store.delete(CLUSTER, 'default', 'ipfail');
    await waitFor('failing pod gone', () => !env.store.get(PODS, 'default', 'ipfail-1'), 30_000);
  });
});
