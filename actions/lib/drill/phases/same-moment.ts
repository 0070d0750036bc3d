// Pins the recovery to live's counting moment (same-moment.ts): waits, bounded by
// same-moment-wait, until the segment holding the snapshot's WAL position is archived (the
// opt-in restore point has already switched and archived it), then closes the live sessions.
// Falls back, saying why, to the end of the archive and the row-count tolerance.
import type { RecoveryTarget } from '../../cnpg/types.js';
import { definePhase, type DrillContext } from '../pipeline.js';
import type { RestorePoint } from '../restore-point.js';
import { waitLsnArchived, type Moment } from '../same-moment.js';
import { closeSession } from '../sessions.js';
import type { ResolvedTarget } from '../targets.js';

export interface Pin {
  recoveryTarget?: RecoveryTarget;
  /** Counts judged with no slack (the moment is exact and the recovery stops there). */
  exact: boolean;
  /** How counts are judged and why, for the report. */
  judging: string;
}

export const sameMoment = definePhase({
  name: 'same-moment',
  title: 'pin the restore to live’s counting moment',
  needs: ['liveSessions', 'moment', 'target', 'restorePoint', 'inventory'],
  gives: ['pin'],
  async run(ctx, { liveSessions, moment, target, restorePoint, inventory }) {
    try {
      const pin = await choosePin(ctx, liveSessions[0].db, moment, target, restorePoint, inventory.newest?.backupId);
      ctx.log(`counts judged: ${pin.judging}`);
      ctx.result.target = {
        ...(ctx.result.target ?? { kind: target.kind, describe: target.describe, judged: ctx.inputs.judgeCounts }),
        judging: pin.judging,
        lsn: pin.recoveryTarget?.targetLSN,
      };
      return { pin };
    } finally {
      await Promise.all(liveSessions.map(closeSession));
    }
  },
});

async function choosePin(
  ctx: DrillContext,
  db: Parameters<typeof waitLsnArchived>[0],
  moment: Moment | undefined,
  target: ResolvedTarget,
  rp: RestorePoint | undefined,
  newest: string | undefined,
): Promise<Pin> {
  const { inputs } = ctx;
  const tolerance = `|restored − live| <= max(${inputs.tolerance} × live, ${inputs.floor})`;
  const byName: RecoveryTarget | undefined = rp && newest ? { targetName: rp.name, backupID: newest } : undefined;
  if (target.recoveryTarget)
    return {
      recoveryTarget: target.recoveryTarget,
      exact: false,
      judging: `${inputs.judgeCounts ? tolerance : 'reported, not judged'}: live has moved on since ${target.describe}`,
    };
  if (!moment) return { recoveryTarget: byName, exact: false, judging: `${tolerance}: ${samenessOff(ctx)}` };
  const w = await waitLsnArchived(db, moment.lsn, {
    deadline: Date.now() + Math.min(inputs.sameMomentWaitMs, inputs.timeoutMs),
    signal: ctx.signal,
  });
  if (!w.ok) {
    return {
      recoveryTarget: byName,
      exact: false,
      judging: `${tolerance}: live's counting snapshot at ${moment.lsn} (segment ${w.segment}) was not archived within same-moment-wait (${Math.round(inputs.sameMomentWaitMs / 1000)} s; last archived ${w.last ?? 'none'}), so the restore replays to ${rp ? `the restore point '${rp.name}'` : 'the end of the archive'} and rows written in between are absorbed by the tolerance`,
    };
  }
  ctx.log(
    `live's counting snapshot at ${moment.lsn} is archived (segment ${w.segment}, waited ${Math.round(w.ms / 1000)} s)`,
  );
  const recoveryTarget: RecoveryTarget = {
    targetLSN: moment.lsn,
    exclusive: true,
    ...(rp && newest ? { backupID: newest } : {}),
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
    judging: `exactly (no slack for tables counted with count(*)): live was counted in one snapshot at WAL ${moment.lsn} (${moment.at}) with no write in flight, and the restore stops just before that position; estimated tables keep ${tolerance}`,
  };
}

function samenessOff({ inputs }: DrillContext): string {
  if (inputs.sameMomentWaitMs === 0)
    return 'same-moment-wait is 0, so live was counted at the drill start and the restore replays to the end of the archive';
  if (inputs.liveCounts === 'replica')
    return 'live-counts: replica counts on a replica, whose position trails the primary; the restore replays to the end of the archive';
  return 'live was not counted in one snapshot';
}
