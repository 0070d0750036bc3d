// Image pulls on the playground's node (apiserver/controllers/images.ts, timing.ts `imagePull`): the first pod of an
// image waits for its pull in ContainerCreating, pulls are serialized, and imagePullPolicy is respected.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './apiserver/testing.js';
import { createTiming, DELAYS } from './timing.js';
import { waitFor } from '../helpers/wait.js';
import { defaultPullPolicy, goDuration } from './apiserver/controllers/images.js';
import type { KubeObject } from './types.js';

const PODS = '/api/v1/namespaces/default/pods';
const pulls = (seed: number, n: number) => {
  const t = createTiming({ seed });
  return Array.from({ length: n }, () => t.delay('imagePull'));
};
/** A seed whose first `n` pulls all last between `atLeast` and `atMost` ms. */
const seedWithPulls = (n: number, atLeast: number, atMost: number) => {
  let seed = 1;
  while (pulls(seed, n).some((d) => d < atLeast || d > atMost)) seed++;
  return { seed, waits: pulls(seed, n) };
};
const podOf = (name: string, image: string, imagePullPolicy?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image, ...(imagePullPolicy ? { imagePullPolicy } : {}) }] },
});

describe('image pulls', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });
  const get = async (name: string) => (await s!.req('GET', `${PODS}/${name}`)).body as KubeObject;
  const waiting = async (name: string) => (await get(name)).status?.containerStatuses?.[0]?.state?.waiting?.reason;
  /** Creates the pod; resolves with the milliseconds until it is Running. */
  const runningAfter = async (pod: ReturnType<typeof podOf>) => {
    const created = Date.now();
    expect((await s!.req('POST', PODS, pod)).status).toBe(201);
    await waitFor(
      `${pod.metadata.name} Running`,
      async () => (await get(pod.metadata.name)).status?.phase === 'Running',
      10_000,
      5,
    );
    return Date.now() - created;
  };
  const events = async (name: string) =>
    ((await s!.req('GET', `/api/v1/namespaces/default/events`)).body.items as KubeObject[])
      .filter((e) => e.involvedObject.name === name)
      .map((e) => `${e.reason}: ${e.message}`);

  it('the first pod of an image waits for its pull in ContainerCreating; a second pod of it does not pull', async () => {
    const { seed, waits } = seedWithPulls(1, 800, 2_000);
    s = await startTestServer({ timing: createTiming({ seed }) });
    const first = runningAfter(podOf('a', 'ghcr.io/cloudnative-pg/postgresql:16'));
    await waitFor('ContainerCreating', async () => (await waiting('a')) === 'ContainerCreating', 5_000, 5);
    expect(await first).toBeGreaterThanOrEqual(waits[0] - 5);
    const firstEvents = await events('a');
    expect(firstEvents).toHaveLength(5);
    expect(firstEvents).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Scheduled: /),
        'Pulling: Pulling image "ghcr.io/cloudnative-pg/postgresql:16"',
        expect.stringMatching(
          /^Pulled: Successfully pulled image "ghcr\.io\/cloudnative-pg\/postgresql:16" in [\d.]+m?s \([\d.]+m?s including waiting\)\. Image size: \d+ bytes\.$/,
        ),
        'Created: Created container c',
        'Started: Started container c',
      ]),
    );
    // Cached: only the pod start remains.
    expect(await runningAfter(podOf('b', 'ghcr.io/cloudnative-pg/postgresql:16'))).toBeLessThan(
      DELAYS.podStart.range[1] + 200,
    );
    const second = await events('b');
    expect(second).toContain(
      'Pulled: Container image "ghcr.io/cloudnative-pg/postgresql:16" already present on machine',
    );
    expect(second.some((e) => e.startsWith('Pulling'))).toBe(false);
  });

  it('pulls one image at a time (serializeImagePulls): the second image waits for the first', async () => {
    const { seed, waits } = seedWithPulls(2, 400, 1_200);
    s = await startTestServer({ timing: createTiming({ seed }) });
    const [a, b] = await Promise.all([runningAfter(podOf('a', 'img-a:1')), runningAfter(podOf('b', 'img-b:1'))]);
    expect(Math.max(a, b)).toBeGreaterThanOrEqual(waits[0] + waits[1] - 10);
    expect(Math.min(a, b)).toBeGreaterThanOrEqual(Math.min(...waits) - 5);
  });

  it('Never: an image not on the node is ErrImageNeverPull; once another pod pulled it, the pod starts', async () => {
    const { seed } = seedWithPulls(1, 100, 600);
    s = await startTestServer({ timing: createTiming({ seed }) });
    await s.req('POST', PODS, podOf('never', 'img:2', 'Never'));
    await waitFor('ErrImageNeverPull', async () => (await waiting('never')) === 'ErrImageNeverPull', 5_000, 5);
    const pod = await get('never');
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe(
      'Container image "img:2" is not present with pull policy of Never',
    );
    expect(await events('never')).toContain(
      'ErrImageNeverPull: Container image "img:2" is not present with pull policy of Never',
    );
    await runningAfter(podOf('puller', 'img:2'));
    expect(await runningAfter(podOf('never-2', 'img:2', 'Never'))).toBeLessThan(DELAYS.podStart.range[1] + 200);
    expect((await events('never-2')).some((e) => e.startsWith('Pulling'))).toBe(false);
  });

  it('Always (the default for :latest and no tag): every pod pulls again, quickly once the layers are cached', async () => {
    const { seed, waits } = seedWithPulls(1, 800, 2_000);
    s = await startTestServer({ timing: createTiming({ seed }) });
    expect(await runningAfter(podOf('a', 'busybox'))).toBeGreaterThanOrEqual(waits[0] - 5);
    expect((await get('a')).spec.containers[0].imagePullPolicy).toBe('Always');
    expect(await runningAfter(podOf('b', 'busybox'))).toBeLessThan(waits[0]);
    expect((await events('b')).filter((e) => /^Pull(ing|ed): /.test(e))).toEqual([
      'Pulling: Pulling image "busybox"',
      expect.stringMatching(/^Pulled: Successfully pulled image "busybox" in /),
    ]);
  });

  it('fixed timing pulls at once (the delay is 0), as before pulls were modelled', async () => {
    s = await startTestServer({ timing: createTiming({ mode: 'fixed' }) });
    expect(await runningAfter(podOf('a', 'img:3'))).toBeLessThan(DELAYS.podStart.fixed + 300);
  });

  it("defaults imagePullPolicy as the API server does, and prints durations as Go's time.Duration", () => {
    expect(
      ['busybox', 'busybox:latest', 'busybox:1', 'localhost:5000/img', 'localhost:5000/img:2', 'img@sha256:ab'].map(
        defaultPullPolicy,
      ),
    ).toEqual(['Always', 'Always', 'IfNotPresent', 'Always', 'IfNotPresent', 'IfNotPresent']);
    expect([0, 850, 1000, 2500, 62_500].map(goDuration)).toEqual(['0s', '850ms', '1s', '2.5s', '1m2.5s']);
  });
});
