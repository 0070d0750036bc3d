// Realistic timing (timing.ts): the seeded source of delays, and controllers of the API server emulator
// that really wait for their drawn delay instead of acting at once.
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './apiserver/testing.js';
import { createTiming, DELAYS, type DelayName } from './timing.js';
import { waitFor } from '../helpers/wait.js';
import { crashLoopBackOffMs, crashRestartDelay, nextCrashBackOff, TIME_SCALE } from './cnpg/versions.js';

const kinds = Object.keys(DELAYS) as DelayName[];
const draws = (seed: number, n = 50) =>
  kinds.map((k) => Array.from({ length: n }, () => createTiming({ seed }).delay(k)));
const sequence = (seed: number, kind: DelayName, n: number) => {
  const t = createTiming({ seed });
  return Array.from({ length: n }, () => t.delay(kind));
};

describe('timing', () => {
  it('the same seed gives the same delays, another seed others', () => {
    expect(draws(42)).toEqual(draws(42));
    expect(sequence(42, 'podStart', 20)).toEqual(sequence(42, 'podStart', 20));
    expect(sequence(43, 'podStart', 20)).not.toEqual(sequence(42, 'podStart', 20));
  });

  it("a kind's draws do not depend on the other kinds drawn in between", () => {
    const t = createTiming({ seed: 7 });
    const mixed = Array.from({ length: 10 }, () => (t.delay('garbageCollect'), t.delay('podStart')));
    expect(mixed).toEqual(sequence(7, 'podStart', 10));
  });

  it('every kind stays within its range, and fixed timing gives the fixed value', () => {
    for (const kind of kinds) {
      const [min, max] = DELAYS[kind].range;
      expect(min).toBeLessThanOrEqual(max);
      const all = [1, 2, 3, 99, 123456].flatMap((seed) => sequence(seed, kind, 200));
      expect(all.every(Number.isInteger)).toBe(true);
      expect(Math.min(...all)).toBeGreaterThanOrEqual(min);
      expect(Math.max(...all)).toBeLessThanOrEqual(max);
      expect(createTiming({ mode: 'fixed' }).delay(kind)).toBe(DELAYS[kind].fixed);
    }
  });
});

describe('controllers wait for their drawn delay', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });
  /** A seed whose first draw of `kind` is long enough to observe the wait (and short enough for a unit test). */
  const seedWith = (kind: DelayName, atLeast: number, atMost = Infinity) => {
    const first = (seed: number) => createTiming({ seed }).delay(kind);
    let seed = 1;
    while (first(seed) < atLeast || first(seed) > atMost) seed++;
    return { seed, wait: first(seed) };
  };

  it('a new pod is not Running before its podStart delay', async () => {
    const { seed, wait } = seedWith('podStart', 150);
    s = await startTestServer({ timing: createTiming({ seed }) });
    const created = Date.now();
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    };
    expect((await s.req('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    expect((await s.req('GET', '/api/v1/namespaces/default/pods/p')).body.status?.phase).not.toBe('Running');
    await eventually(
      async () => (await s!.req('GET', '/api/v1/namespaces/default/pods/p')).body.status?.phase === 'Running',
    );
    expect(Date.now() - created).toBeGreaterThanOrEqual(wait - 5);
  });

  it('a released Delete volume stays Released until its volumeDelete delay has passed', async () => {
    const { seed, wait } = seedWith('volumeDelete', 400, 1_000);
    s = await startTestServer({ timing: createTiming({ seed }) });
    const path = '/api/v1/namespaces/default/persistentvolumeclaims';
    const spec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
    await s.req('POST', path, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'd' }, spec });
    const pv = await eventually(async () => (await s!.req('GET', `${path}/d`)).body.spec?.volumeName as string);
    await s.req('DELETE', `${path}/d`);
    const deleted = Date.now();
    const phase = async () => (await s!.req('GET', `/api/v1/persistentvolumes/${pv}`)).body.status?.phase;
    expect(await eventually(async () => (await phase()) === 'Released')).toBe(true);
    await eventually(async () => (await s!.req('GET', `/api/v1/persistentvolumes/${pv}`)).status === 404);
    expect(Date.now() - deleted).toBeGreaterThanOrEqual(wait - 5);
  });

  it('a new claim is bound only after its volumeProvision delay', async () => {
    const { seed, wait } = seedWith('volumeProvision', 150);
    s = await startTestServer({ timing: createTiming({ seed }) });
    const path = '/api/v1/namespaces/default/persistentvolumeclaims';
    const created = Date.now();
    const spec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
    await s.req('POST', path, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'd' }, spec });
    expect((await s.req('GET', `${path}/d`)).body.status?.phase).not.toBe('Bound');
    await eventually(async () => (await s!.req('GET', `${path}/d`)).body.status?.phase === 'Bound');
    expect(Date.now() - created).toBeGreaterThanOrEqual(wait - 5);
  });
});

describe('Service routing follows pods through the endpoints delay', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });
  const pod = (name: string, role: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'db', role } },
    spec: { containers: [{ name: 'c', image: 'postgres' }] },
  });
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db-rw' },
    spec: { selector: { app: 'db', role: 'primary' }, ports: [{ port: 5432, targetPort: 5432 }] },
  };
  /** A seed whose first `n` endpoints delays are all at least `atLeast` ms. */
  const seedWithEndpoints = (atLeast: number, n: number) => {
    let seed = 1;
    while (sequence(seed, 'endpoints', n).some((d) => d < atLeast)) seed++;
    return { seed, waits: sequence(seed, 'endpoints', n) };
  };
  const routedPod = () => s!.network.resolveService('default', 'db-rw', 5432)?.pod;
  /** Waits until `routedPod()` is `want`; returns the milliseconds since `from`. */
  const routedAfter = async (want: string | undefined, from: number) => {
    await waitFor(`routed to ${want}`, () => routedPod() === want, 5_000, 5);
    return Date.now() - from;
  };
  const running = async (name: string) =>
    eventually(
      async () => (await s!.req('GET', `/api/v1/namespaces/default/pods/${name}`)).body.status?.phase === 'Running',
    );

  it('does not route to a Ready pod before its delay, routes after, stops once the pod is not Ready', async () => {
    const { seed, waits } = seedWithEndpoints(60, 2);
    s = await startTestServer({ timing: createTiming({ seed }) });
    s.network.register('default', 'db-1', 5432, { host: '127.0.0.1', port: 15432 });
    await s.req('POST', '/api/v1/namespaces/default/pods', pod('db-1', 'primary'));
    await running('db-1');
    const created = Date.now();
    expect((await s.req('POST', '/api/v1/namespaces/default/services', service)).status).toBe(201);
    expect(routedPod()).toBeUndefined();
    expect(await routedAfter('db-1', created)).toBeGreaterThanOrEqual(waits[0] - 5);
    expect(s.network.resolveService('default', 'db-rw', 5432)).toMatchObject({ host: '127.0.0.1', port: 15432 });

    const notReady = Date.now();
    s.store.mutate(
      'v1/pods',
      'default',
      'db-1',
      (o) => {
        o.status.conditions = o.status.conditions.map((c: { type: string }) =>
          c.type === 'Ready' ? { ...c, status: 'False' } : c,
        );
      },
      { status: true },
    );
    expect(routedPod()).toBe('db-1'); // the routes lag behind the pod
    expect(await routedAfter(undefined, notReady)).toBeGreaterThanOrEqual(waits[1] - 5);
  });

  it('follows a role label switched from one pod to another (failover) after the delay', async () => {
    const { seed, waits } = seedWithEndpoints(60, 3);
    s = await startTestServer({ timing: createTiming({ seed }) });
    for (const [name, role] of [
      ['db-1', 'primary'],
      ['db-2', 'replica'],
    ]) {
      s.network.register('default', name, 5432, { host: '127.0.0.1', port: name === 'db-1' ? 15432 : 15433 });
      await s.req('POST', '/api/v1/namespaces/default/pods', pod(name, role));
      await running(name);
    }
    await s.req('POST', '/api/v1/namespaces/default/services', service);
    await routedAfter('db-1', Date.now());
    const switched = Date.now();
    const relabel = (name: string, role: string) =>
      s!.store.mutate('v1/pods', 'default', name, (o) => void (o.metadata.labels!.role = role));
    relabel('db-1', 'replica');
    relabel('db-2', 'primary');
    expect(routedPod()).toBe('db-1');
    expect(await routedAfter('db-2', switched)).toBeGreaterThanOrEqual(Math.min(waits[1], waits[2]) - 5);
  });

  it('fixed timing routes at once (the delay is 0), still only to Ready pods', async () => {
    s = await startTestServer({ timing: createTiming({ mode: 'fixed' }) });
    s.network.register('default', 'db-1', 5432, { host: '127.0.0.1', port: 15432 });
    await s.req('POST', '/api/v1/namespaces/default/services', service);
    await s.req('POST', '/api/v1/namespaces/default/pods', pod('db-1', 'primary'));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.store.get('v1/pods', 'default', 'db-1')!.status?.phase).not.toBe('Running');
    expect(routedPod()).toBeUndefined();
    await running('db-1');
    await routedAfter('db-1', Date.now());
  });
});

describe('kubelet retries and back-offs', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  it("a pod waiting for a missing Secret starts at the kubelet's next pod sync (podSyncRetry), not 2 s later", async () => {
    const seed = 5;
    const [retry] = sequence(seed, 'podSyncRetry', 1);
    s = await startTestServer({ timing: createTiming({ seed }) });
    const env = [{ name: 'P', valueFrom: { secretKeyRef: { name: 'later', key: 'p' } } }];
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox', env }] },
    };
    await s.req('POST', '/api/v1/namespaces/default/pods', pod);
    const get = async () => (await s!.req('GET', '/api/v1/namespaces/default/pods/p')).body;
    const reason = async () => (await get()).status?.containerStatuses?.[0]?.state?.waiting?.reason;
    await waitFor('config error', async () => (await reason()) === 'CreateContainerConfigError', 5_000, 10);
    const blocked = Date.now();
    s.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'later', namespace: 'default' },
      data: { p: 'eA==' },
    });
    await waitFor('running', async () => (await get()).status?.phase === 'Running', 5_000, 10);
    const waited = Date.now() - blocked;
    expect(waited).toBeGreaterThanOrEqual(retry - 60);
    expect(waited).toBeLessThanOrEqual(DELAYS.podSyncRetry.range[1] + 150);
  });

  it('CrashLoopBackOff: 10 s doubling to 300 s, back to 10 s after 10 minutes (compressed by TIME_SCALE)', () => {
    const limits = { initialMs: crashLoopBackOffMs(1), maxMs: crashLoopBackOffMs(Infinity) };
    expect(limits).toEqual({ initialMs: 10_000 * TIME_SCALE, maxMs: 300_000 * TIME_SCALE });
    let b = nextCrashBackOff(undefined, 0, limits);
    const delays = [b.delayMs];
    for (let i = 1; i < 7; i++) delays.push((b = nextCrashBackOff(b, i, limits)).delayMs);
    expect(delays.map((d) => d / TIME_SCALE / 1000)).toEqual([10, 20, 40, 80, 160, 300, 300]);
    expect(nextCrashBackOff(b, b.at + 2 * limits.maxMs, limits).delayMs).toBe(300_000 * TIME_SCALE);
    expect(nextCrashBackOff(b, b.at + 2 * limits.maxMs + 1, limits).delayMs).toBe(10_000 * TIME_SCALE);
  });

  it("an instance's restart: fixed timing keeps 10 s doubling; seeded timing the kubelet's back-off plus its next sync, reset after 10 min", () => {
    const fixed = createTiming({ mode: 'fixed' });
    expect([1, 2, 3, 7].map((restartCount) => crashRestartDelay(fixed, { restartCount }).delayMs)).toEqual([
      10_000, 20_000, 40_000, 300_000,
    ]);
    const seed = 11;
    const syncs = sequence(seed, 'crashLoopSync', 3);
    const t = createTiming({ seed });
    const first = crashRestartDelay(t, { restartCount: 1 }, 0);
    const second = crashRestartDelay(t, { restartCount: 2, backOff: first.backOff }, 1_000);
    const later = 1_000 + 2 * 300_000 * TIME_SCALE + 1; // the container ran over 10 minutes (compressed)
    const reset = crashRestartDelay(t, { restartCount: 3, backOff: second.backOff }, later);
    expect([first, second, reset].map((r) => r.delayMs)).toEqual([
      10_000 * TIME_SCALE + syncs[0],
      20_000 * TIME_SCALE + syncs[1],
      10_000 * TIME_SCALE + syncs[2],
    ]);
    expect(crashRestartDelay(t, { restartCount: 1, initialMs: 1_500 }, 0).backOff?.delayMs).toBe(1_500);
  });
});
