// The compare phase's content step for one database: the restore's digests (compare: content)
// and the user checks, recorded in what the phase found; returns the restore's row counts the digests read.
import { randomBytes } from 'node:crypto';
import { displayName } from '../postgres/ident.js';
import type { ReadOnlyDb } from '../postgres/readonly.js';
import type { TableCount } from '../postgres/rowcounts.js';
import { runCheck } from '../postgres/content-checks.js';
import type { Baseline } from './compare.js';
import type { LiveContent } from './content-live.js';
import type { TableRef } from '../postgres/schema.js';
import { compareContent } from './content-compare.js';
import { checkReasons, contentReasons, judgeCheck } from './content-report.js';
import type { Owned, PhaseContext } from './pipeline.js';
import type { Comparison } from './result.js';
import type { Cluster } from '../cnpg/types.js';
import { openLiveReplicaSession, openSession } from './sessions.js';

type ContentReads =
  | 'compare'
  | 'countConcurrency'
  | 'contentSensitiveKeys'
  | 'checks'
  | 'statementTimeoutMs'
  | 'liveCounts'
  | 'credentialsSecret'
  | 'connectionMode';
/** What the content step uses: the inputs it reads, and what opening a session on live takes (bisection). */
type ContentContext = Pick<
  PhaseContext<ContentReads>,
  'inputs' | 'signal' | 'log' | 'core' | 'clients' | 'site' | 'owned'
>;

export async function restoreContent(
  ctx: ContentContext,
  db: ReadOnlyDb,
  base: Baseline,
  exact: boolean,
  result: Comparison,
  liveCluster?: Cluster,
): Promise<TableCount[]> {
  const { inputs } = ctx;
  const live = base.content;
  let counts: TableCount[] = [];
  if (live && inputs.compare === 'content') {
    const c = await compareContent(db, base.database, live, {
      concurrency: inputs.countConcurrency,
      judged: exact,
      sensitive: inputs.contentSensitiveKeys,
      hashKey: runHashKey(ctx.owned),
      openLive: liveCluster && (() => openLiveNow(ctx, liveCluster, base.database)),
      signal: ctx.signal,
    });
    counts = c.counts;
    (result.content ??= []).push(c.comparison);
    result.reasons.push(...contentReasons(c.comparison));
    ctx.log(
      `restore ${base.database}: ${c.comparison.compared} tables digested in ${c.comparison.restoreMs} ms: ` +
        `${c.comparison.same} same, ${c.comparison.differing.length} differ, ` +
        `${c.comparison.notCompared.length} not compared`,
    );
  }
  const liveChecks = new Map(live?.checks ?? []);
  for (const check of inputs.checks.filter((c) => c.database === base.database)) {
    const r = judgeCheck(
      check,
      await runCheck(db, check, inputs.statementTimeoutMs),
      liveChecks.get(check.name),
      exact,
    );
    (result.checks ??= []).push(r);
    result.reasons.push(...checkReasons([r]));
    if (r.status === 'error') ctx.core.warning(`check '${r.name}' could not be evaluated: ${r.detail}`);
  }
  return counts;
}

// One HMAC key per drill run (its `owned` record is the run's own): the sensitive keys' hashes agree
// within the run's report, for every database and both sides, and cannot be matched across runs.
const hashKeys = new WeakMap<Owned, Uint8Array>();
function runHashKey(owned: Owned): Uint8Array {
  const key = hashKeys.get(owned) ?? randomBytes(32);
  hashKeys.set(owned, key);
  return key;
}

/**
 * A note for each content-sensitive-keys table that names no table of the compared databases: its
 * keys would otherwise be printed in the clear without a word (a misspelling, or capitals unquoted).
 */
export function unmatchedSensitiveNotes(
  sensitive: TableRef[],
  baselines: { database: string; content?: Pick<LiveContent, 'digests' | 'capped'> }[],
): string[] {
  const tables = baselines.flatMap((b) => [...(b.content?.digests ?? []), ...(b.content?.capped ?? [])]);
  return sensitive
    .filter((s) => !tables.some((t) => t.schema === s.schema && t.name === s.name))
    .map(
      (s) =>
        `content-sensitive-keys: ${displayName(s.schema, s.name)} matches no table in the compared databases ` +
        `(${baselines.map((b) => b.database).join(', ')}), so no key is hashed for it: check the spelling ` +
        '(an unquoted name is read in lower case; write "Name" for a table created with capitals)',
    );
}

/**
 * A read-only session on live now, as the counts read it (the primary, or a replica), for bisection.
 * Opened anew: same-moment.phase.ts closed connect-live's sessions before the recovery wait.
 */
async function openLiveNow(ctx: ContentContext, live: Cluster, database: string): Promise<ReadOnlyDb> {
  const s =
    ctx.inputs.liveCounts === 'replica'
      ? await openLiveReplicaSession(ctx, live, database)
      : await openSession(ctx, live, database, ctx.inputs.credentialsSecret);
  return s.db;
}

/** Checks naming a database the drill did not compare: reported as errors. */
export function uncomparedChecks(
  ctx: Pick<PhaseContext<'checks'>, 'inputs'>,
  databases: string[],
  result: Comparison,
): void {
  for (const c of ctx.inputs.checks.filter((c) => !databases.includes(c.database))) {
    (result.checks ??= []).push({
      name: c.name,
      database: c.database,
      kind: c.sameAsLive ? 'same-as-live' : 'expect',
      status: 'error',
      detail: `database ${c.database} is not among the databases compared (${databases.join(', ')})`,
    });
  }
}
