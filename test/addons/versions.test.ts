// addon-sync's dedicated clusters on each bootstrap mechanism (test/playground/CONFORMANCE.md
// 6.v): the oldest supported release (initdb Job; a failed Job never changes the phase), 1.30
// (initdb Job, Kubernetes' back-off before the unrecoverable phase) and main+pr11319 (in-pod bootstrap
// in the `bootstrap-instance` init container; the phase only says "waiting"). A healthy
// bootstrap provisions and connects; a failing one fails that app at its first failed attempt
// with the bootstrap's own error, whatever the phase says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapMode } from '../playground/cnpg/versions.js';
import {
  association,
  CLUSTERS,
  connectAsApp,
  deployApp,
  envOf,
  explain,
  NS,
  startBed,
  sync,
  variantToml,
  writeApp,
  type Bed,
} from './helpers.js';

describe.each((process.env.ADDON_VERSIONS ?? '1.25.4,1.30.0,main+pr11319').split(','))('operator %s', (version) => {
  const inPod = bootstrapMode(version) === 'in-pod';
  let bed: Bed;
  beforeAll(async () => {
    bed = await startBed({ operatorVersion: version });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('a dedicated cluster bootstraps where this version does it, and its DATABASE_URL connects', async () => {
    deployApp(bed, 'orders');
    writeApp(bed, 'orders', variantToml('small'));
    const r = await sync(bed);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(await connectAsApp(bed, envOf(bed, 'orders')!.DATABASE_URL)).toEqual({ user: 'orders', database: 'orders' });
    const pod = bed.pg.store.get('v1/pods', NS, 'orders-pg-1')!;
    if (inPod)
      expect(
        pod.status.initContainerStatuses.find((c: { name: string }) => c.name === 'bootstrap-instance').state.terminated
          .exitCode,
      ).toBe(0);
    else expect(pod.spec.initContainers).toBeUndefined();
    expect(
      bed.pg.store
        .list('batch/v1/jobs', NS, { labelSelector: 'cnpg.io/cluster=orders-pg' })
        .items.filter((j) => !j.metadata.deletionTimestamp),
    ).toEqual([]);
  });

  it("a dedicated cluster whose initdb fails fails that app at the first failed attempt, with the bootstrap's error", async () => {
    bed.pg.operator.settings.failBootstrap = {
      cluster: /^broken-pg$/,
      role: 'initdb',
      message: 'initdb: error: could not create directory "/var/lib/postgresql/data/pgdata": No space left on device',
    };
    try {
      deployApp(bed, 'broken');
      writeApp(bed, 'broken', variantToml('small'));
      const t0 = Date.now();
      const r = await sync(bed);
      const took = Date.now() - t0;
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.outputs).toMatchObject({ failed: '1' });
      const error = r.errors.join('\n');
      expect(error).toMatch(
        inPod
          ? /Cluster cnpg-addons\/broken-pg failed to bootstrap: bootstrap init container of pod broken-pg-1 \(container bootstrap-instance\)/
          : /Cluster cnpg-addons\/broken-pg failed to bootstrap: initdb job broken-pg-1-initdb failed: pod broken-pg-1-initdb-\w+ \(container initdb\) exited with code 1/,
      );
      expect(error).toContain('No space left on device');
      // The first attempt: well before the Job's back-off (~31 s scaled) or any phase change.
      expect(took).toBeLessThan(60_000);
      expect(association(bed, 'broken')?.status).not.toBe('active');
      console.log(
        `operator ${version}: failed bootstrap reported in ${took} ms: ${error.split('\n')[0].slice(0, 200)}`,
      );
    } finally {
      bed.pg.operator.settings.failBootstrap = undefined;
    }
    expect(bed.pg.store.get(CLUSTERS, NS, 'orders-pg')).toBeDefined();
  });
});
