// A no-op sync of 100 apps (all on the shared variant: 100 databases on one server, after an
// initial apply) makes zero write requests, counted in the playground's request log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  association,
  connectAsApp,
  envOf,
  explain,
  manyApps,
  orphans,
  startBed,
  sync,
  writes,
  type Bed,
} from './helpers.js';

let bed: Bed;
beforeAll(async () => {
  bed = await startBed();
});
afterAll(async () => {
  await bed?.stop();
});

describe('no-op sync of 100 apps', () => {
  it('provisions 100 shared databases, then re-syncs with zero writes', async () => {
    const apps = manyApps(bed, 100);
    // The action's own timeout (8m) bounds it; the harness kills only after that.
    const first = await sync(bed, { parallel: '8', timeout: '8m' }, { timeoutMs: 540_000 });
    expect(first.exitCode, explain(first)).toBe(0);
    // It exits once its work is done: pod watches opened after their abort held it 5 minutes past its
    // last request (timeoutSeconds=300; test/unit/watch-abort.test.ts).
    const lastRequest = Math.max(...bed.pg.requestLog.entries().map((e) => e.time));
    expect(Date.now() - lastRequest).toBeLessThan(15_000);
    expect(first.outputs).toMatchObject({ created: '100', failed: '0' });
    expect(association(bed, 'app-099')).toMatchObject({ status: 'active', variant: 'shared' });
    expect(await connectAsApp(bed, envOf(bed, 'app-042')!.DATABASE_URL)).toEqual({
      user: 'app_042',
      database: 'app_042',
    });

    bed.pg.requestLog.clear();
    const again = await sync(bed, { parallel: '8' });
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.outputs).toMatchObject({ created: '0', updated: '0', removed: '0', failed: '0' });
    const log = bed.pg.requestLog.entries();
    expect(writes(log)).toEqual([]);
    console.log(
      `no-op sync of 100 apps: ${again.durationMs} ms, ${log.length} requests, ${writes(log).length} writes; initial apply ${first.durationMs} ms`,
    );
    expect(await orphans(bed, { apps })).toEqual([]);
  }, 900_000);
});
