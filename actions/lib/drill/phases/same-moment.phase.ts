// Pins the recovery to live's counting moment (same-moment.ts). On a quiet live database the
// moment is proven from live's last checkpoint (quiet.ts) and the restore stops there, with no
// wait. Otherwise it waits until the segment holding the snapshot's WAL position is archived,
// bounded by same-moment-wait and by live's archive_timeout (the opt-in restore point has
// already switched and archived it), then closes the live sessions. Falls back, saying why and at
// once when waiting cannot pay off, to the end of the archive and the row-count tolerance.
import type { RecoveryTarget } from '../../cnpg/types.js';
import { definePhase, given, type PhaseContext } from '../pipeline.js';
import type { RestorePoint } from '../restore-point.js';
import type { BackupRow } from '../inventory.js';
import type { ReadOnlyDb } from '../../postgres/readonly.js';
import { quietTarget } from '../quiet.js';
import { parseLsn } from '../rpo.js';
import { archiveState, waitBudget, waitLsnArchived, type Moment, type Pin } from '../same-moment.js';
import { formatLsn } from '../targets.js';
import { closeSession } from '../sessions.js';
import type { ResolvedTarget } from '../targets.js';

export const sameMoment = definePhase({
  name: 'same-moment',
  title: 'pin the restore to live’s counting moment',
  needs: ['liveSessions', 'moment', 'target', 'restorePoint', 'inventory', 'timeoutMs'],
  gives: ['pin'],
  reads: ['tolerance', 'floor', 'judgeCounts', 'sameMomentWaitMs', 'liveCounts'],
  async run(ctx, { liveSessions, moment, target, restorePoint, inventory, timeoutMs }) {
    try {
      const pin = await choosePin(
        { ...ctx, timeoutMs },
        liveSessions[0].db,
        moment,
        target,
        given(restorePoint),
        inventory.newest,
      );
      ctx.log(`counts judged: ${pin.judging}`);
      return { pin };
    } finally {
      await Promise.all(liveSessions.map(closeSession));
    }
  },
});

/** The phase's context and the drill's timeout (credentials), which bounds the wait. */
type PinContext = PhaseContext<'tolerance' | 'floor' | 'judgeCounts' | 'sameMomentWaitMs' | 'liveCounts'> & {
  timeoutMs: number;
};

interface PinInput {
  db: ReadOnlyDb;
  moment: Moment;
  rp: RestorePoint | undefined;
  newest: BackupRow | undefined;
  tolerance: string;
}

async function choosePin(
  ctx: PinContext,
  db: ReadOnlyDb,
  moment: Moment | undefined,
  target: ResolvedTarget,
  rp: RestorePoint | undefined,
  newest: BackupRow | undefined,
): Promise<Pin> {
  const { inputs } = ctx;
  const tolerance = `|restored − live| <= max(${inputs.tolerance} × live, ${inputs.floor})`;
  const byName: RecoveryTarget | undefined =
    rp && newest ? { targetName: rp.name, backupID: newest.backupId } : undefined;
  if (target.recoveryTarget)
    return {
      recoveryTarget: target.recoveryTarget,
      exact: false,
      judging: `${inputs.judgeCounts ? tolerance : 'reported, not judged'}: live has moved on since ${target.describe}`,
    };
  if (!moment) return { recoveryTarget: byName, exact: false, judging: `${tolerance}: ${samenessOff(ctx)}` };
  const p: PinInput = { db, moment, rp, newest, tolerance };
  const atL = await archiveState(db, moment.lsn);
  if (atL.archived) return archived(ctx, moment.lsn, atL.segment, 0, atSnapshot(p));
  const quiet = moment.quiet.ok ? quietGoal(p) : undefined;
  if (!quiet) ctx.log(`same moment not proven from live's last checkpoint: ${moment.quiet.why}`);
  const goal = quiet ?? { lsn: moment.lsn, pin: atSnapshot(p) };
  const a = quiet ? await archiveState(db, goal.lsn) : atL;
  if (a.archived) return archived(ctx, goal.lsn, a.segment, 0, goal.pin);
  const budget = waitBudget(a, Math.min(inputs.sameMomentWaitMs, ctx.timeoutMs), moment.unwrittenSince);
  if (budget.ms <= 0) return fallBack(p, budget.why ?? 'same-moment-wait is 0', byName);
  const w = await waitLsnArchived(db, goal.lsn, { deadline: Date.now() + budget.ms, signal: ctx.signal });
  if (w.ok) return archived(ctx, goal.lsn, w.segment, w.ms, goal.pin);
  const s = Math.round(budget.ms / 1000);
  const why =
    `live's counting snapshot at ${moment.lsn} (segment ${w.segment}) was not archived ` +
    `within ${s} s (same-moment-wait ${Math.round(inputs.sameMomentWaitMs / 1000)} s, ` +
    `archive_timeout ${Math.round(a.archiveTimeoutMs / 1000)} s; last archived ${w.last ?? 'none'})`;
  return fallBack(p, why, byName);
}

function archived(ctx: PinContext, lsn: string, segment: string, ms: number, pin: Pin): Pin {
  const what = pin.recoveryTarget?.exclusive ? `live's counting snapshot at ${lsn}` : `the quiet stop (through ${lsn})`;
  ctx.log(`${what} is archived (segment ${segment}, waited ${Math.round(ms / 1000)} s)`);
  return pin;
}

/** The quiet proof's stop (quiet.ts step 4), with room for its record in the archived segment. */
function quietGoal(p: PinInput): { lsn: string; pin: Pin } | undefined {
  const c = p.moment.checkpoint!;
  const stop = quietTarget(c, p.newest?.endLSN);
  if (!stop || !p.newest?.backupId) return undefined;
  const room = formatLsn(parseLsn(stop) + RECORD_ROOM);
  return {
    lsn: room,
    pin: {
      recoveryTarget: { targetLSN: stop, backupID: p.newest.backupId },
      exact: true,
      judging:
        `exactly (no slack for tables counted with count(*)): ${p.moment.quiet.why}; the restore stops ` +
        `after the record at ${stop} (${stop === c.lsn ? 'that checkpoint' : `the end of backup ${p.newest.name}`}), ` +
        `which no commit follows before the snapshot; estimated tables keep ${p.tolerance}`,
    },
  };
}

/** A checkpoint record (and a page header) fits in this many bytes after its start. */
const RECORD_ROOM = 512n;

function atSnapshot({ moment, rp, newest, tolerance }: PinInput): Pin {
  const recoveryTarget: RecoveryTarget = {
    targetLSN: moment.lsn,
    exclusive: true,
    ...(rp && newest ? { backupID: newest.backupId } : {}),
  };
  if (!moment.exact)
    return {
      recoveryTarget,
      exact: false,
      judging: `${tolerance}: the restore stops at live's counting snapshot (${moment.lsn}), but ${moment.why}`,
    };
  return {
    recoveryTarget,
    exact: true,
    judging:
      `exactly (no slack for tables counted with count(*)): live was counted in one ` +
      `snapshot at WAL ${moment.lsn} (${moment.at}) with no write in flight, and ` +
      `the restore stops just before that position; estimated tables keep ${tolerance}`,
  };
}

function fallBack({ moment, rp, tolerance }: PinInput, why: string, byName: RecoveryTarget | undefined): Pin {
  const proof = moment.quiet.ok ? '' : `; the quiet proof does not hold: ${moment.quiet.why}`;
  return {
    recoveryTarget: byName,
    exact: false,
    judging:
      `${tolerance}: ${why}${proof}, so the restore replays to ${rp ? `the restore point '${rp.name}'` : 'the end of the archive'} ` +
      `and rows written in between are absorbed by the tolerance`,
  };
}

function samenessOff({ inputs }: PinContext): string {
  if (inputs.sameMomentWaitMs === 0)
    return 'same-moment-wait is 0, so live was counted at the drill start and the restore replays to the end of the archive';
  if (inputs.liveCounts === 'replica')
    return 'live-counts: replica counts on a replica, whose position trails the primary; the restore replays to the end of the archive';
  return 'live was not counted in one snapshot';
}
