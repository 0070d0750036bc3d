// The drill passes where it should: both backup modes, writes after the base backup restored,
// no false alarm under ongoing writes, a restore point, the history record, no secret leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { leakedSecrets } from '../helpers/run-action.js';
import { explain, leftovers, runDrill } from './support.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;

beforeAll(async () => {
  pgd = await startPlayground();
  live = await createLiveCluster(pgd, { name: 'shop', mode: 'in-tree', rows: 2000, rowsAfterBackup: 321 });
});
afterAll(async () => {
  await pgd?.stop();
});

describe('healthy drills', () => {
  it('in-tree: passes, restores the writes after the base backup, measures RTO/RPO, tears down', async () => {
    const r = await runDrill(pgd, { cluster: 'shop', namespace: 'default' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    const name = r.outputs['recovery-cluster'];
    expect(name).toMatch(/^shop-drill-\d+-1$/);
    expect(r.state['recovery-cluster']).toBe(name);
    expect(Number(r.outputs['rto-seconds'])).toBeGreaterThan(0);
    expect(r.outputs['rpo-seconds']).not.toBe('');
    expect(Number(r.outputs['tables-compared'])).toBe(4);
    expect(r.outputs['schema-differences']).toBe('0');
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    expect(r.outputs['backup-id']).toMatch(/^\d{8}T\d{6}$/);
    // 2000 sample orders + 321 written after the backup, compared exactly (floor 0, tolerance 0).
    expect(r.stdout).toMatch(/live app: 4 tables/);
    expect(r.summary.split('\n')[0]).toContain('Restore drill PASSED: default/shop');
    expect(r.summary).toContain('### Backup inventory');
    expect(r.summary).toContain('### Phase timings');
    expect(leftovers(pgd, 'default', name)).toEqual([]);
    expect(leakedSecrets(r, live.secrets())).toEqual([]);
    console.log(`in-tree drill: ${r.durationMs} ms, RTO ${r.outputs['rto-seconds']} s, RPO ${r.outputs['rpo-seconds']} s / ${r.outputs['rpo-bytes']} B`);
  });
});
