// addon-sync on the playground: a no-op sync of 100 apps (all on the shared variant, after an
// initial apply): wall time of the bundle run and its write requests (from the request log).
import { ensureAddonBundle, manyApps, startBed, sync, writes } from '../addons/helpers.js';

export async function benchAddons(log: (line: string) => void): Promise<Record<string, number>> {
  await ensureAddonBundle(log);
  const bed = await startBed();
  try {
    manyApps(bed, 100);
    const first = await sync(bed, { parallel: '8', timeout: '8m' });
    if (first.exitCode !== 0) throw new Error(`initial apply failed: ${first.errors.join('; ')}`);
    log(`initial apply of 100 shared add-ons: ${first.durationMs} ms`);
    const noop: number[] = [];
    let writeCount = 0;
    let requests = 0;
    for (let i = 0; i < 3; i++) {
      bed.pg.requestLog.clear();
      const r = await sync(bed, { parallel: '8' });
      if (r.exitCode !== 0) throw new Error(`no-op sync failed: ${r.errors.join('; ')}`);
      const entries = bed.pg.requestLog.entries();
      writeCount += writes(entries).length;
      requests = entries.length;
      noop.push(r.durationMs);
      log(`no-op sync ${i + 1}: ${r.durationMs} ms, ${entries.length} requests, ${writes(entries).length} writes`);
    }
    return {
      initialApplyMs: first.durationMs,
      noopMedianMs: [...noop].sort((a, b) => a - b)[1],
      noopRequests: requests,
      noopWrites: writeCount,
    };
  } finally {
    await bed.stop();
  }
}
