// The same moment on a quiet live database, with the bundle on one playground: a live cluster
// with no write since its backup and its last checkpoint (the common case for staging and weekly
// drills) is drilled with
// the default same-moment-wait and with 0; the default is judged exactly and costs at most 10 s
// more. The same cluster under a steady write load is still judged exactly. A time target after
// the last commit is refused with the reachable range before anything is created; when live's last
// checkpoint is not archived the drill cannot tell, and a recovery that then misses the target is a
// drill error, never a failed backup. The report's window start is the per-method figure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { explain, leftovers, runDrill, writes } from './support.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import type { RunResult } from '../helpers/run-action.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;

/**
 * Waits until live is as a quiet server leaves itself: a checkpoint after its last write, with no
 * transaction running, in the archive (the checkpointer takes one within checkpoint_timeout after
 * important WAL, archive_timeout then switches its segment). With `stableMs`, that checkpoint must
 * also have stayed the latest for so long: past checkpoint_timeout (30 s here), no important WAL
 * written after it is still waiting for the next checkpoint (a drill just before, say), which the
 * drill would otherwise rightly wait to see archived.
 */
async function quiet(stableMs = 0, timeoutMs = 240_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let since = { lsn: '', at: Date.now() };
  for (;;) {
    const [q] = await live.superSql<{
      lsn: string;
      seg: string;
      active: string;
      next: string;
      last: string | null;
      ahead: number;
      age: number;
    }>(
      `SELECT c.checkpoint_lsn::text AS lsn, extract(epoch FROM now() - c.checkpoint_time) * 1000 AS age, pg_walfile_name(c.checkpoint_lsn + 512) AS seg,
         c.oldest_active_xid::text AS active, split_part(c.next_xid, ':', 2) AS next,
         a.last_archived_wal AS last, age(split_part(c.next_xid, ':', 2)::xid) AS ahead
       FROM pg_control_checkpoint() c, pg_stat_archiver a`,
    );
    if (q.lsn !== since.lsn) since = { lsn: q.lsn, at: Date.now() };
    const settled = q.active === q.next && q.ahead === 0 && q.last && q.last.slice(8) >= q.seg.slice(8);
    // The latest since it was taken (its age), or since first seen here, whichever is longer.
    if (settled && Math.max(Date.now() - since.at, Number(q.age)) >= stableMs) return;
    if (Date.now() > until) throw new Error(`live did not settle: ${JSON.stringify(q)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  ensureDrillBundle();
  pgd = await startPlayground();
  // checkpoint_timeout at its minimum (30 s) so the checkpoint a quiet server takes after its last write comes
  // soon, and archive_timeout 15 s so its segment follows soon after (each wait for a quiet live is bounded by
  // their sum, and the busy drill's pin by archive_timeout); commit times tracked.
  live = await createLiveCluster(pgd, {
    name: 'quiet',
    rows: 400,
    backup: false,
    spec: {
      postgresql: {
        parameters: { archive_timeout: '15s', checkpoint_timeout: '30s', track_commit_timestamp: 'on' },
      },
    },
  });
  await live.superSql('VACUUM ANALYZE');
  await live.backup();
  await quiet();
}, 600_000);
afterAll(async () => {
  await pgd?.stop();
});

const base = {
  cluster: 'quiet',
  namespace: 'default',
  'record-history': false,
  verify: 'off',
};

const phaseMs = (r: RunResult, title: RegExp) => {
  const m = new RegExp(`\\| ${title.source} \\| ([\\d.]+) (ms|s) \\|`).exec(r.summary);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : undefined;
};

describe('the same moment on a quiet live cluster', () => {
  it('the default drill is judged exactly, at most 10 s over same-moment-wait: 0; the window start is per method', async () => {
    const off = await runDrill(pgd, { ...base, 'same-moment-wait': '0' });
    expect(off.exitCode, explain(off)).toBe(0);
    // What live committed meanwhile (autovacuum's analyses, ...): a quiet server takes its checkpoint after it.
    console.log(
      'live activity during the first drill:',
      JSON.stringify(
        await live.superSql(
          `SELECT relname, last_autoanalyze, last_autovacuum FROM pg_stat_all_tables
           WHERE greatest(last_autoanalyze, last_autovacuum) > now() - interval '3 min'`,
        ),
      ),
    );
    // WAL written with no xid since the last checkpoint (an autovacuum's pruning, say) makes the checkpointer
    // start one at checkpoint_timeout; it spreads its writes and may end after quiet's 40 s (seen on a busy
    // machine: the drill then rightly waited archive_timeout for that checkpoint's segment). A checkpoint now covers it.
    await live.superSql('CHECKPOINT');
    await quiet(40_000);
    const pinned = await runDrill(pgd, { ...base, 'same-moment-wait': '6m' });
    expect(pinned.exitCode, explain(pinned)).toBe(0);
    console.log(
      `idle live: same-moment-wait 0 took ${off.durationMs} ms, the default ${pinned.durationMs} ms; pin phase ${phaseMs(pinned, /pin the restore to live’s counting moment/)} ms`,
    );
    expect(pinned.stdout).toMatch(
      /counts judged: exactly \(no slack for tables counted with count\(\*\)\): live was idle/,
    );
    expect(pinned.stdout).toMatch(
      /recovery stop: replay ended at [0-9A-F]+\/[0-9A-F]+ \([^)]*\), (exactly at|\d+ bytes after)/,
    );
    expect(pinned.summary).toMatch(/How counts are judged: exactly/);
    expect(pinned.summary).toMatch(/\| public\.orders \| \d+ \| count\(\*\) on the primary \| \d+ \| 0 \| 0 \|/);
    // What the default costs is its pin phase: the whole drills' difference also holds whatever else the machine
    // did meanwhile (run J: 14.8 s apart with a 23 ms pin).
    expect(phaseMs(pinned, /pin the restore to live’s counting moment/)).toBeLessThanOrEqual(10_000);
    expect(pinned.summary).toMatch(
      /\| \*\*First recoverability point\*\* \| \d{4}-\d\d-\d\dT[^|]* \(status\.firstRecoverabilityPointByMethod\.barmanObjectStore\) \|/,
    );
    expect(leftovers(pgd, 'default', pinned.outputs['recovery-cluster'])).toEqual([]);
  }, 600_000);

  it('a time target after the last commit is refused with the reachable range, before anything is created', async () => {
    // Stable past checkpoint_timeout: a checkpoint still to come (after the first test's drills' WAL) would not be
    // archived when the drill looks, and the drill rightly could not tell the last archived commit (run F).
    await quiet(40_000);
    const [{ lastCommit, last }] = await live.superSql<{ lastCommit: Date; last: Date }>(
      `SELECT (pg_last_committed_xact()).timestamp AS "lastCommit", last_archived_time AS last FROM pg_stat_archiver`,
    );
    // After the last commit, before the last archived segment: inside the old window, yet unreachable.
    const t = new Date((lastCommit.getTime() + last.getTime()) / 2).toISOString();
    expect(Date.parse(t)).toBeGreaterThan(lastCommit.getTime());
    const since = Date.now();
    const r = await runDrill(pgd, { ...base, 'recovery-target': `time=${t}` });
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      new RegExp(
        `Input 'recovery-target': time ${t.replace(/[.]/g, '\\.')} is outside the recovery window \\d{4}-[^ ]+ \\.\\. ${lastCommit.toISOString().replace(/[.]/g, '\\.')} \\(oldest backup's end \\.\\. the last archived commit: live's last commit`,
      ),
    );
    expect(writes(pgd, since).filter((w) => w.includes('/clusters'))).toEqual([]);
  });

  it("a time past the last commit while live's last checkpoint is not archived: a drill error, never a failed backup", async () => {
    // archive_timeout off: the commit's segment is switched and archived, the checkpoint after it stays unarchived.
    await live.superSql(`ALTER SYSTEM SET archive_timeout = 0`);
    await live.superSql('SELECT pg_reload_conf()');
    try {
      await live.writeRows(1);
      await live.switchWalAndWait();
      await live.superSql('CHECKPOINT');
      const [{ lastCommit, last }] = await live.superSql<{ lastCommit: Date; last: Date }>(
        `SELECT (pg_last_committed_xact()).timestamp AS "lastCommit", last_archived_time AS last FROM pg_stat_archiver`,
      );
      const t = new Date((lastCommit.getTime() + last.getTime()) / 2).toISOString();
      expect(Date.parse(t)).toBeGreaterThan(lastCommit.getTime());
      const r = await runDrill(pgd, { ...base, 'recovery-target': `time=${t}` });
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.outputs.result, explain(r)).toBe('error');
      expect(r.errors.join('\n')).toMatch(
        new RegExp(
          `the restore ended before the target time ${t.replace(/[.]/g, '\\.')}: .*could not tell live's last ` +
            `archived commit \\(live's last checkpoint \\([0-9A-F/]+\\) is not archived yet`,
        ),
      );
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    } finally {
      await live.superSql(`ALTER SYSTEM RESET archive_timeout`);
      await live.superSql('SELECT pg_reload_conf()');
    }
  });

  it('under a steady write load: judged exactly, the pin bounded by archive_timeout', async () => {
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await live.writeRows(1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const r = await runDrill(pgd, { ...base, 'same-moment-wait': '6m' });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.stdout).toMatch(/same moment not proven from live's last checkpoint: live wrote after/);
      expect(r.stdout).toMatch(
        /counts judged: exactly \(no slack for tables counted with count\(\*\)\): live was counted/,
      );
      const pin = phaseMs(r, /pin the restore to live’s counting moment/);
      console.log(`busy live: drill ${r.durationMs} ms, pin phase ${pin} ms`);
      expect(pin).toBeLessThanOrEqual(15_000 + 10_000); // archive_timeout, plus the copy
    } finally {
      stop = true;
      await load;
    }
  });
});
