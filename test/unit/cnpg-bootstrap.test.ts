// Reading what the operator created: Job pods (operators up to 1.30) and the
// instance pod's `bootstrap-instance` init container (in-pod bootstrap), shaped as the kubelet
// reports them; the WAL progress and end-of-replay lines of the restore log.
import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { bootstrapSource, errorSummary, restoredWals } from '../../actions/lib/cnpg/bootstrap.js';
import { readDrillInputs } from '../../actions/lib/drill/inputs.js';
import { recordingCore } from '../helpers/recording-core.js';

const jobPod = (
  phase: string,
  state: object,
  labels: Record<string, string> = { 'cnpg.io/jobRole': 'full-recovery' },
): V1Pod => ({
  metadata: {
    name: 'Drill-x-1-full-recovery-b7k2q'.toLowerCase(),
    labels: { 'cnpg.io/cluster': 'drill-x', 'batch.kubernetes.io/job-name': 'drill-x-1-full-recovery', ...labels },
  },
  spec: { containers: [{ name: 'full-recovery' }] },
  status: {
    phase,
    containerStatuses: [{ name: 'full-recovery', ready: false, restartCount: 0, image: 'i', imageID: '', state }],
  },
});

const instancePod = (init: object): V1Pod => ({
  metadata: { name: 'drill-x-1', labels: { 'cnpg.io/cluster': 'drill-x', 'cnpg.io/podRole': 'instance' } },
  spec: {
    initContainers: [{ name: 'bootstrap-controller' }, { name: 'bootstrap-instance' }],
    containers: [{ name: 'postgres' }],
  },
  status: {
    phase: 'Pending',
    initContainerStatuses: [
      {
        name: 'bootstrap-controller',
        ready: true,
        restartCount: 0,
        image: 'i',
        imageID: '',
        state: { terminated: { exitCode: 0 } },
      },
      { name: 'bootstrap-instance', ready: false, image: 'i', imageID: '', restartCount: 0, ...init },
    ],
  },
});

describe('bootstrapSource', () => {
  it('a running Job pod is started, not failed', () => {
    expect(bootstrapSource(jobPod('Running', { running: {} }), 'drill-x')).toMatchObject({
      kind: 'job',
      container: 'full-recovery',
      started: true,
      succeeded: false,
      failure: undefined,
    });
  });
  it('the first Failed Job pod is the failure (no wait for the Job back-off)', () => {
    const s = bootstrapSource(jobPod('Failed', { terminated: { exitCode: 1, reason: 'Error' } }), 'drill-x');
    expect(s?.failure).toBe(
      'full-recovery job drill-x-1-full-recovery failed: pod drill-x-1-full-recovery-b7k2q (container full-recovery) exited with code 1 (Error)',
    );
  });
  it('a Job pod is recognised by its job-name label alone (1.25 pods label the role on the template only)', () => {
    expect(bootstrapSource(jobPod('Succeeded', { terminated: { exitCode: 0 } }, {}), 'drill-x')).toMatchObject({
      kind: 'job',
      succeeded: true,
    });
  });
  it('an initdb Job pod (a dedicated add-on cluster) is a bootstrap too, unless only restores are asked for', () => {
    const pod: V1Pod = {
      metadata: {
        name: 'pg-orders-1-initdb-x2x9p',
        labels: { 'cnpg.io/cluster': 'pg-orders', 'job-name': 'pg-orders-1-initdb' },
      },
      spec: { containers: [{ name: 'initdb' }] },
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'initdb',
            ready: false,
            restartCount: 0,
            image: 'i',
            imageID: '',
            state: { terminated: { exitCode: 1 } },
          },
        ],
      },
    };
    expect(bootstrapSource(pod, 'pg-orders')?.failure).toBe(
      'initdb job pg-orders-1-initdb failed: pod pg-orders-1-initdb-x2x9p (container initdb) exited with code 1',
    );
    expect(bootstrapSource(pod, 'pg-orders', ['full-recovery'])).toBeUndefined();
  });
  it('an instance pod without the bootstrap init container runs no restore', () => {
    expect(
      bootstrapSource({ metadata: { name: 'drill-x-1' }, spec: { containers: [{ name: 'postgres' }] } }, 'drill-x'),
    ).toBeUndefined();
  });
  it('the init container: running, exited non-zero, crash-looping, restarted', () => {
    expect(bootstrapSource(instancePod({ state: { running: {} } }), 'drill-x')).toMatchObject({
      kind: 'init-container',
      container: 'bootstrap-instance',
      started: true,
      failure: undefined,
    });
    expect(
      bootstrapSource(instancePod({ state: { terminated: { exitCode: 1, reason: 'Error' } } }), 'drill-x')?.failure,
    ).toBe('bootstrap init container of pod drill-x-1 (container bootstrap-instance) exited with code 1 (Error)');
    expect(
      bootstrapSource(
        instancePod({
          restartCount: 1,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1 } },
        }),
        'drill-x',
      )?.failure,
    ).toMatch(/is crash-looping \(last exit code 1\)/);
    expect(
      bootstrapSource(
        instancePod({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 2 } } }),
        'drill-x',
      )?.failure,
    ).toMatch(/restarted after exiting with code 2/);
    expect(bootstrapSource(instancePod({ state: { terminated: { exitCode: 0 } } }), 'drill-x')).toMatchObject({
      succeeded: true,
      failure: undefined,
    });
  });
});

describe('restore log', () => {
  it('counts WAL restored from plain and JSON (instance manager) log lines', () => {
    const log = [
      '2026-11-30 20:01:02.345 UTC [211] LOG:  restored log file "000000010000000000000003" from archive',
      '{"level":"info","ts":"2026-11-30T20:01:03Z","logger":"postgres","msg":"record","record":{"error_severity":"LOG","message":"restored log file \\"000000010000000000000004\\" from archive"}}',
      '2026-11-30 20:01:04.000 UTC [211] LOG:  restored log file "00000002.history" from archive',
    ].join('\n');
    expect(restoredWals(log)).toEqual(['000000010000000000000003', '000000010000000000000004', '00000002.history']);
  });
  it('summarises the error lines', () => {
    expect(errorSummary('starting\nERROR: Barman cloud restore exception: corrupt tar\nexit status 1\n')).toBe(
      'ERROR: Barman cloud restore exception: corrupt tar',
    );
  });
});

describe('stall-timeout input', () => {
  const read = (v?: string) =>
    readDrillInputs(
      recordingCore({ cluster: 'pg-main', namespace: 'db', ...(v === undefined ? {} : { 'stall-timeout': v }) }).core,
    );
  it('defaults to 10 minutes, 0 turns it off, a bad value names the input', () => {
    expect(read().stallTimeoutMs).toBe(600_000);
    expect(read('0').stallTimeoutMs).toBe(0);
    expect(() => read('soon')).toThrow("Input 'stall-timeout': 'soon' is not a duration");
  });
});
