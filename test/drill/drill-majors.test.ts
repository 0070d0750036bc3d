// The drill on every PostgreSQL major CNPG runs, 13 to 18: live Clusters whose image tags name 13
// and 18 run those real servers (.ci/setup.sh), are backed up by barman-cloud and drilled with
// the defaults. On 13 `verify: amcheck` degrades (amcheck 1.2 has no verify_heapam): the B-tree
// checks, the full read and a note, never a failure. The distribution's major is drilled everywhere else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster } from '../helpers/live-cluster.js';
import { explain, leftovers, runDrill } from './support.js';

let pgd: PlaygroundHandle;
beforeAll(async () => {
  pgd = await startPlayground();
});
afterAll(async () => {
  await pgd?.stop();
});

describe.each([13, 18])('PostgreSQL %i', (major) => {
  const name = `pg${major}`;
  beforeAll(async () => {
    const live = await createLiveCluster(pgd, {
      name,
      rows: 500,
      spec: { imageName: `ghcr.io/cloudnative-pg/postgresql:${major}.4-standard-bookworm` },
    });
    const [{ v }] = await live.superSql<{ v: number }>(
      `SELECT current_setting('server_version_num')::int / 10000 AS v`,
    );
    expect(v).toBe(major);
  }, 240_000);

  it('a default drill passes', async () => {
    const started = Date.now();
    const r = await runDrill(pgd, { cluster: name, namespace: 'default', 'record-history': false });
    console.log(`PostgreSQL ${major} drill: ${Date.now() - started} ms`);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    expect(r.stdout).toMatch(/restore app: read 4\/4 tables, /);
    if (major === 13) {
      expect(r.stdout).toMatch(
        /restore app: amcheck 1\.2 has no verify_heapam \(PostgreSQL 14 or later\): B-tree indexes checked with bt_index_check \/ bt_index_parent_check; every heap page read by the full read/,
      );
      expect(r.summary).toMatch(
        /### Verification of `app`: amcheck 1\.2, no problems\n+amcheck 1\.2 has no verify_heapam/,
      );
      expect(r.summary).not.toMatch(/tables checked with verify_heapam/);
      expect(r.summary).toMatch(/\d+ B-tree indexes checked \(\d+ with bt_index_parent_check, 0 with bt_index_check\)/);
    } else {
      expect(r.summary).toMatch(/4 tables checked with verify_heapam \(heap and TOAST\); \d+ B-tree indexes checked/);
    }
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
  });
});
