// Realistic timing (timing.ts): the seeded source of delays, and controllers of the API server emulator
// that really wait for their drawn delay instead of acting at once.
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './apiserver/testing.js';
import { createTiming, DELAYS, type DelayName } from './timing.js';

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
