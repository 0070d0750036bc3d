// Live's schema and row counts per database (compare.ts), counted as live-counts says (on the
// primary's sessions, or on a replica's for live-counts: replica). For latest / restore-point,
// the primary is counted at one moment whose WAL position the restore then stops at
// (same-moment.ts); the same-moment phase closes the live sessions after it.
import { countSettings, takeBaseline, type Baseline } from '../compare.js';
import { definePhase, growingList, type PhaseContext } from '../pipeline.js';
import { closeSession, openLiveReplicaSession, APPLICATION_NAME, type Session } from '../sessions.js';
import { countAtOneMoment, type Moment } from '../same-moment.js';
import { describeError } from '../../errors.js';
import { UNFILTERED_READ_SETTINGS, type ReadOnlyDb } from '../../postgres/readonly.js';
import { takeLiveContent } from '../content-live.js';
import type { Cluster } from '../../cnpg/types.js';
import type { ResolvedTarget } from '../targets.js';

/** The inputs counting live reads (sessions on a replica, the counts, the content digests, the checks). */
const BASELINE_READS = [
  'liveCounts',
  'liveExactMaxBytes',
  'verify',
  'sameMomentWaitMs',
  'statementTimeoutMs',
  'countConcurrency',
  'tolerance',
  'floor',
  'connectionMode',
  'credentialsSecret',
  'compare',
  'checks',
  'contentMaxBytes',
] as const;

export const baseline = definePhase({
  name: 'baseline',
  title: 'baseline from live (schema + row counts)',
  needs: ['live', 'liveSessions', 'target'],
  gives: ['baselines', 'moment', 'counting', 'baselineNotes'],
  reads: BASELINE_READS,
  async run(ctx, { live, liveSessions, target }) {
    const { inputs } = ctx;
    // Given at once, and each note as it is found: a cancelled count still reports how live was counted.
    const counting = { live: inputs.liveCounts, liveExactMaxBytes: inputs.liveExactMaxBytes, verify: inputs.verify };
    ctx.give({ counting });
    const notes = growingList<string>((baselineNotes) => ctx.give({ baselineNotes }));
    return { ...(await countLive(ctx, live, liveSessions, target, notes.add)), counting, baselineNotes: notes.list };
  },
});

type BaselineContext = PhaseContext<(typeof BASELINE_READS)[number]>;

/** Live's baselines: at one moment when same-moment-wait asks and live allows it, else database by database. */
async function countLive(
  ctx: BaselineContext,
  live: Cluster,
  liveSessions: Session[],
  target: ResolvedTarget,
  note: (n: string) => void,
): Promise<{ baselines: Baseline[]; moment: Moment | undefined }> {
  const { inputs } = ctx;
  if (!target.recoveryTarget && inputs.sameMomentWaitMs > 0 && inputs.liveCounts !== 'replica') {
    const pinned = await atOneMoment(ctx, liveSessions, note);
    if (pinned) return pinned;
  }
  const baselines: Baseline[] = [];
  for (const s of liveSessions) {
    let b: Baseline;
    if (inputs.liveCounts === 'replica') {
      const r = await openLiveReplicaSession(ctx, live, s.database);
      ctx.log(`counting live ${s.database} on replica ${r.conn.pod}`);
      b = await withContent(ctx, r.db, await takeBaseline(r.db, s.database, countSettings(ctx), 'replica'));
      await closeSession(r);
    } else b = await withContent(ctx, s.db, await takeBaseline(s.db, s.database, countSettings(ctx)));
    ctx.log(
      `live ${s.database}: ${b.schema.tables.length} tables, ${b.schema.indexes.length} ` +
        `indexes, ${b.counts.reduce((n, c) => n + (c.rows || 0), 0)} rows`,
    );
    baselines.push(b);
  }
  return { baselines, moment: undefined };
}

/** Counts every database in one exported snapshot; undefined (logged) when live refuses it. */
async function atOneMoment(
  ctx: BaselineContext,
  sessions: Session[],
  note: (n: string) => void,
): Promise<{ baselines: Baseline[]; moment: Moment } | undefined> {
  const { inputs } = ctx;
  try {
    const opts = {
      statementTimeoutMs: inputs.statementTimeoutMs,
      poolSize: inputs.countConcurrency,
      applicationName: APPLICATION_NAME,
      settings: UNFILTERED_READ_SETTINGS,
      signal: ctx.signal,
    };
    const { results, moment } = await countAtOneMoment(sessions, opts, async (db, s) =>
      withContent(ctx, db, await takeBaseline(db, s.database, countSettings(ctx))),
    );
    ctx.log(
      `live counted in one snapshot at WAL ${moment.lsn} (${moment.at}; ${moment.tries} ` +
        `snapshot(s) taken${moment.why ? `; ${moment.why}` : ''})`,
    );
    for (const b of results)
      ctx.log(
        `live ${b.database}: ${b.schema.tables.length} tables, ${b.schema.indexes.length} ` +
          `indexes, ${b.counts.reduce((n, c) => n + (c.rows || 0), 0)} rows`,
      );
    return { baselines: results, moment };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.log(`live could not be counted in one exported snapshot (${describeError(err)}); counting as before`);
    note(`Same moment not held: live refused an exported snapshot (${describeError(err)}).`);
    return undefined;
  }
}

/** compare: content or user checks: live's digests and same-as-live checks, on the db the counts read. */
async function withContent(ctx: BaselineContext, db: ReadOnlyDb, b: Baseline): Promise<Baseline> {
  const { inputs } = ctx;
  if (inputs.compare !== 'content' && !inputs.checks.length) return b;
  const content = await takeLiveContent(db, b.database, b.schema, {
    content: inputs.compare === 'content',
    maxBytes: inputs.contentMaxBytes,
    concurrency: inputs.countConcurrency,
    statementTimeoutMs: inputs.statementTimeoutMs,
    checks: inputs.checks,
    signal: ctx.signal,
    log: ctx.log,
  });
  return { ...b, content };
}
