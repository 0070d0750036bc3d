// Resolves `recovery-target` against the recovery window before anything is created
// (targets.ts): a target the archive cannot reach fails the drill here, with the window. Time
// targets are held to the last archived commit (last-commit.ts).
import type { Inventory } from '../inventory.js';
import { lastArchivedCommit } from '../last-commit.js';
import { definePhase } from '../pipeline.js';
import { resolveTarget, type Window } from '../targets.js';
import { barmanRestorable } from '../window.js';

export const chooseTarget = definePhase({
  name: 'choose-target',
  title: 'choose the recovery target',
  needs: ['inventory', 'liveSessions'],
  gives: ['target', 'targetNotes'],
  reads: ['target'],
  async run(ctx, { inventory, liveSessions }) {
    const targetNotes: string[] = [];
    let commitUnknown: string | undefined;
    const [{ bytes }] = await liveSessions[0].db.query<{ bytes: string }>(
      `SELECT pg_size_bytes(current_setting('wal_segment_size'))::text AS bytes`,
    );
    const window = windowOf(inventory, Number(bytes));
    if (ctx.inputs.target.kind === 'time' || ctx.inputs.target.kind === 'random') {
      const c = await lastArchivedCommit(liveSessions[0].db, window.lastArchivedWal);
      if (c.why) targetNotes.push(`Time targets are held to the last archived WAL, not a commit: ${c.why}.`);
      // Also unknown: track_commit_timestamp off, live idle. No commit follows the bound, but targets between
      // live's last commit (its time unread) and the bound have none after them either.
      commitUnknown = c.why ?? (c.bound && !c.bound.commitAt ? c.bound.how : undefined);
      window.commits = c.bound;
    }
    ctx.give({ targetNotes });
    const target = {
      ...resolveTarget(ctx.inputs.target, window),
      walSegmentBytes: Number(bytes),
      ...(commitUnknown === undefined ? {} : { commitUnknown }),
    };
    ctx.log(`recovery target: ${target.describe}`);
    return { target, targetNotes };
  },
});

function windowOf(inv: Inventory, walSegmentBytes: number): Window {
  const backups = inv.backups
    .filter((b) => b.phase === 'completed' && barmanRestorable(b) && b.stoppedAt)
    .sort((a, b) => Date.parse(a.stoppedAt!) - Date.parse(b.stoppedAt!));
  const a = inv.archiving.archiver;
  return { backups, lastArchivedWal: a?.lastArchivedWal, lastArchivedTime: a?.lastArchivedTime, walSegmentBytes };
}
