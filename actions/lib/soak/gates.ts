// The seven gates, each judged from measurements into {name, passed, value, threshold, detail}.
// Gates 1-5 describe the replication right now and decide whether this run's sample is clean;
// gate 6 (restore drill) and gate 7 (the clean streak over the window) come from records.
import { clusterHealth } from '../cnpg/health.js';
import type { Cluster } from '../cnpg/types.js';
import type { CountComparison } from '../postgres/compare-counts.js';
import { displayName } from '../postgres/ident.js';
import { formatBytes, formatDuration } from '../report/format.js';
import { coverageProblems, type Coverage } from './coverage.js';
import type { DrillJudgement } from './drill-record.js';
import type { WorkflowRun } from './drill-workflow.js';
import type { Streak } from './history.js';
import type { PublisherState } from './publisher.js';
import { STATE_NAMES, type SubscriberState } from './subscriber.js';
import { qualified } from './tables.js';
import { describeError } from '../errors.js';

export const GATE_NAMES = [
  'cluster-health',
  'tables-ready',
  'lag',
  'coverage',
  'row-counts',
  'restore-drill',
  'soak-window',
] as const;
export type GateName = (typeof GATE_NAMES)[number];

/** A failure of one of these makes the run's sample bad and restarts the streak. */
export const STREAK_GATES: readonly GateName[] = ['cluster-health', 'tables-ready', 'lag', 'coverage', 'row-counts'];

export interface Gate {
  name: GateName;
  passed: boolean;
  value: string;
  threshold: string;
  detail: string;
}

const MAX_LISTED = 20;
function listed(items: string[]): string {
  return items.length > MAX_LISTED
    ? `${items.slice(0, MAX_LISTED).join('; ')}; and ${items.length - MAX_LISTED} more`
    : items.join('; ');
}

/** A gate whose measurement itself failed: failing, with the reason. */
export function unmeasuredGate(name: GateName, threshold: string, err: unknown): Gate {
  return { name, passed: false, value: 'not measured', threshold, detail: describeError(err) };
}

/** Gate 1: the cnpg.md health predicate plus every instance pod Ready. */
export function healthGate(
  cluster: Cluster,
  readyPods: string[],
  notReadyPods: string[],
  bootstrapFailures: string[] = [],
): Gate {
  const health = clusterHealth(cluster);
  const want = cluster.spec.instances ?? 1;
  const problems = [...health.problems];
  if (notReadyPods.length) problems.push(`pods not ready: ${notReadyPods.join(', ')}`);
  // A failing bootstrap (Job pod or `bootstrap-instance` init container) the phase may not show.
  problems.push(...bootstrapFailures);
  if (readyPods.length < want) problems.push(`${readyPods.length}/${want} instance pods ready`);
  return {
    name: 'cluster-health',
    passed: problems.length === 0,
    value: `${cluster.status?.phase ?? '(no phase)'}; ${cluster.status?.readyInstances ?? 0}/${want} instances ready`,
    threshold: `healthy, ${want}/${want} ready`,
    detail: problems.length ? listed(problems) : `primary ${cluster.status?.currentPrimary}`,
  };
}

/** Gate 2: every table of the subscription in state r. */
export function tablesReadyGate(sub: SubscriberState): Gate {
  const notReady = sub.tables.filter((t) => t.state !== 'r');
  const ready = sub.tables.length - notReady.length;
  const problems = notReady.map((t) => `${qualified(t)}: ${t.state} (${STATE_NAMES[t.state] ?? 'unknown'})`);
  if (sub.tables.length === 0) problems.push('the subscription has no tables');
  return {
    name: 'tables-ready',
    passed: problems.length === 0,
    value: `${ready}/${sub.tables.length} ready`,
    threshold: 'all in state r',
    detail: problems.length ? listed(problems) : `${sub.tables.length} tables streaming`,
  };
}

export interface LagThresholds {
  maxSubscriberLagBytes: number;
  maxSlotRetainedBytes: number;
  maxMessageAgeMs: number;
}

/** Gate 3: lag now, from both ends: the apply worker's progress and the publisher's slot. */
export function lagGate(sub: SubscriberState, pub: PublisherState, slotName: string, t: LagThresholds): Gate {
  const problems: string[] = [];
  const values: string[] = [];
  const s = sub.subscription;
  if (s && !s.enabled) problems.push('subscription is disabled');
  const w = sub.worker;
  if (!w) {
    problems.push('no apply worker running on the subscriber');
  } else {
    values.push(
      `subscriber ${formatBytes(w.lagBytes)}`,
      `last message ${formatDuration((w.messageAgeSeconds ?? NaN) * 1000)} ago`,
    );
    if (w.lagBytes === undefined) problems.push('the apply worker has not received anything yet');
    else if (w.lagBytes > t.maxSubscriberLagBytes)
      problems.push(`subscriber lag ${formatBytes(w.lagBytes)} exceeds ${formatBytes(t.maxSubscriberLagBytes)}`);
    if (w.messageAgeSeconds === undefined) problems.push('no message received yet');
    else if (w.messageAgeSeconds * 1000 > t.maxMessageAgeMs)
      problems.push(
        `last message ${formatDuration(w.messageAgeSeconds * 1000)} ago, over ${formatDuration(t.maxMessageAgeMs)}`,
      );
  }
  const slot = pub.slot;
  if (!slot) {
    problems.push(`slot ${slotName} does not exist on the publisher`);
  } else {
    values.push(
      `slot ${formatBytes(slot.retainedBytes)} retained (${slot.active ? 'active' : 'inactive'}, ${slot.walStatus ?? 'no wal_status'})`,
    );
    if (slot.type !== 'logical') problems.push(`slot ${slotName} is ${slot.type}, not logical`);
    if (!slot.active) problems.push(`slot ${slotName} is inactive`);
    if (slot.walStatus === 'lost' || slot.walStatus === 'unreserved') {
      const why =
        slot.walStatus === 'lost'
          ? ' (invalidated: the subscription must be rebuilt)'
          : ' (WAL it needs is about to be removed)';
      problems.push(`slot ${slotName} wal_status is ${slot.walStatus}${why}`);
    } else if (slot.walStatus === null) problems.push(`slot ${slotName} has no WAL reserved`);
    if (slot.retainedBytes !== undefined && slot.retainedBytes > t.maxSlotRetainedBytes) {
      problems.push(`slot retains ${formatBytes(slot.retainedBytes)}, over ${formatBytes(t.maxSlotRetainedBytes)}`);
    }
  }
  return {
    name: 'lag',
    passed: problems.length === 0,
    value: values.join('; ') || 'n/a',
    threshold:
      `subscriber <= ${formatBytes(t.maxSubscriberLagBytes)}, slot <= ${formatBytes(t.maxSlotRetainedBytes)}, ` +
      `message age <= ${formatDuration(t.maxMessageAgeMs)}, slot active and reserved`,
    detail: problems.length ? listed(problems) : 'streaming',
  };
}

/** Gate 4: publication coverage and replica identities. */
export function coverageGate(c: Coverage, publishedCount: number): Gate {
  const problems = coverageProblems(c);
  return {
    name: 'coverage',
    passed: problems.length === 0,
    value: `${publishedCount} published, ${c.expected.length} on both sides`,
    threshold: 'publication = tables on both sides - exclusions - unlogged; PK-less tables with a replica identity',
    detail: problems.length ? listed(problems) : 'publication matches',
  };
}

/** Gate 5: row counts of published tables agree within the tolerance. */
export function rowCountGate(comparisons: CountComparison[], tolerance: number, floor: number): Gate {
  const off = comparisons.filter((c) => !c.within);
  return {
    name: 'row-counts',
    passed: off.length === 0 && comparisons.length > 0,
    value: `${comparisons.length - off.length}/${comparisons.length} tables agree`,
    threshold: `|subscriber - publisher| <= max(${tolerance} x publisher, ${floor})`,
    detail:
      comparisons.length === 0
        ? 'no published tables to count'
        : off.length
          ? listed(
              off.map(
                (c) =>
                  `${displayName(c.schema, c.table)}: publisher ${c.live ?? 'n/a'}, ` +
                  `subscriber ${c.other ?? 'n/a'}${c.note ? ` (${c.note})` : ''}`,
              ),
            )
          : 'all agree',
  };
}

/** Gate 6: the newest restore drill passed and is fresh (and, if asked, the drill workflow too). */
export function drillGate(
  judgement: DrillJudgement,
  maxAgeMs: number,
  workflow?: { name: string; run?: WorkflowRun; error?: string; now: Date },
): Gate {
  const problems: string[] = [];
  const values: string[] = [];
  if (judgement.latest) {
    values.push(`${judgement.latest.verdict} ${formatDuration(judgement.ageMs)} ago (${judgement.latest.time})`);
  } else values.push('none');
  const errs = judgement.errorsSince ?? [];
  if (errs.length)
    values.push(
      `${errs.length} drill error(s) since, not evidence (newest: ${errs.at(-1)!.reasons[0] ?? 'no reason'})`,
    );
  if (!judgement.passed) problems.push(judgement.problem ?? 'no passing drill');
  if (workflow) {
    if (workflow.error) problems.push(`workflow ${workflow.name}: ${workflow.error}`);
    else if (!workflow.run) problems.push(`workflow ${workflow.name} has no successful run`);
    else {
      const age = workflow.now.getTime() - Date.parse(workflow.run.time);
      values.push(`workflow run ${workflow.run.id} succeeded ${formatDuration(age)} ago`);
      if (age > maxAgeMs)
        problems.push(`workflow ${workflow.name}: latest successful run ${workflow.run.url} is stale`);
    }
  }
  const runUrl = judgement.latest?.runUrl;
  return {
    name: 'restore-drill',
    passed: problems.length === 0,
    value: values.join('; '),
    threshold: `passed, <= ${formatDuration(maxAgeMs)} old`,
    detail: problems.length
      ? listed(problems)
      : `backup ${judgement.latest?.backupId ?? '?'} restored${runUrl ? ` (${runUrl})` : ''}`,
  };
}

/** Gate 7: the clean streak covers the soak window. */
export function windowGate(streak: Streak, soakMs: number, maxGapMs: number): Gate {
  const b = streak.lastBreak;
  const breakText = !b
    ? 'no bad sample or gap recorded'
    : b.kind === 'gap'
      ? `restarted by a ${formatDuration(b.gapMs)} gap before ${b.at} (max ${formatDuration(maxGapMs)})`
      : `last bad sample ${b.at}${b.fail?.length ? ` (${b.fail.join(', ')})` : ''}`;
  const passed = streak.cleanMs >= soakMs;
  return {
    name: 'soak-window',
    passed,
    value: `${formatDuration(streak.cleanMs)} clean${streak.since ? ` since ${streak.since}` : ''}`,
    threshold: `>= ${formatDuration(soakMs)}, no gap > ${formatDuration(maxGapMs)}`,
    detail: passed ? breakText : `${formatDuration(Math.max(0, soakMs - streak.cleanMs))} to go; ${breakText}`,
  };
}
