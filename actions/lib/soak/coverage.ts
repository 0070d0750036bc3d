// Gate 4: the publication covers exactly the tables present on both sides (minus exclusions
// and unlogged tables), every non-excluded table exists on both sides, every published table is
// subscribed, and PK-less published tables carry a replica identity for UPDATE/DELETE.
import type { UserTable } from './catalog.js';
import type { PublisherState } from './publisher.js';
import type { SubscriberState } from './subscriber.js';
import { byName, isExcluded, qualified, type QualifiedTable, type TablePattern } from './tables.js';

export interface IdentityProblem {
  table: QualifiedTable;
  why: string;
}

export interface Coverage {
  /** Tables on both sides, logged, not excluded: what the publication should contain. */
  expected: QualifiedTable[];
  onlyOnPublisher: QualifiedTable[];
  onlyOnSubscriber: QualifiedTable[];
  notPublished: QualifiedTable[];
  /** Published but not expected: excluded, unlogged, or absent on the subscriber. */
  unexpectedlyPublished: { table: QualifiedTable; why: string }[];
  /** Published but not in pg_subscription_rel: the subscription needs REFRESH PUBLICATION. */
  notSubscribed: QualifiedTable[];
  identity: IdentityProblem[];
}

const keyed = <T extends QualifiedTable>(tables: readonly T[]) =>
  new Map<string, T>(tables.map((t) => [qualified(t), t]));

export function checkCoverage(pub: PublisherState, sub: SubscriberState, exclude: readonly TablePattern[]): Coverage {
  const pubTables = keyed(pub.tables);
  const subTables = keyed(sub.userTables);
  const published = keyed(pub.published);
  const subscribed = keyed(sub.tables);
  const considered = (t: UserTable) => !t.unlogged && !isExcluded(t, exclude);
  const unloggedSomewhere = (k: string) => pubTables.get(k)?.unlogged || subTables.get(k)?.unlogged;

  const onlyOnPublisher = pub.tables.filter(
    (t) => considered(t) && !subTables.has(qualified(t)) && !unloggedSomewhere(qualified(t)),
  );
  const onlyOnSubscriber = sub.userTables.filter(
    (t) => considered(t) && !pubTables.has(qualified(t)) && !unloggedSomewhere(qualified(t)),
  );
  const expected = pub.tables.filter((t) => {
    const k = qualified(t);
    return considered(t) && subTables.has(k) && !unloggedSomewhere(k);
  });
  const expectedKeys = keyed(expected);
  const notPublished = expected.filter((t) => !published.has(qualified(t)));
  const unexpectedlyPublished: Coverage['unexpectedlyPublished'] = [];
  const onlyOnPublisherKeys = keyed(onlyOnPublisher);
  for (const t of pub.published) {
    const k = qualified(t);
    // Already reported as only on the publisher; FOR ALL TABLES cannot leave excluded tables out.
    if (expectedKeys.has(k) || onlyOnPublisherKeys.has(k)) continue;
    const excluded = isExcluded(t, exclude);
    if (excluded && pub.publication?.allTables) continue;
    const why = excluded
      ? 'excluded'
      : unloggedSomewhere(k)
        ? 'unlogged'
        : !subTables.has(k)
          ? 'absent on the subscriber'
          : 'not expected';
    unexpectedlyPublished.push({ table: t, why });
  }
  const notSubscribed = pub.published.filter((t) => !subscribed.has(qualified(t)) && subTables.has(qualified(t)));
  const identity: IdentityProblem[] = [];
  if (pub.publication?.publishesUpdates !== false) {
    for (const t of pub.published) {
      const problem = identityProblem(pubTables.get(qualified(t)));
      if (problem) identity.push({ table: t, why: problem });
    }
  }
  const sorted = <T extends QualifiedTable>(a: T[]) => a.sort(byName);
  return {
    expected: sorted(expected.map(plain)),
    onlyOnPublisher: sorted(onlyOnPublisher.map(plain)),
    onlyOnSubscriber: sorted(onlyOnSubscriber.map(plain)),
    notPublished: sorted(notPublished.map(plain)),
    unexpectedlyPublished: unexpectedlyPublished.sort((a, b) => byName(a.table, b.table)),
    notSubscribed: sorted(notSubscribed.map(plain)),
    identity: identity.sort((a, b) => byName(a.table, b.table)),
  };
}

/** Why UPDATE/DELETE on this published table would fail to replicate, if they would. */
function identityProblem(t: UserTable | undefined): string | undefined {
  if (!t) return undefined;
  switch (t.replicaIdentity) {
    case 'f':
      return undefined;
    case 'n':
      return 'REPLICA IDENTITY NOTHING';
    case 'i':
      return t.hasIdentityIndex ? undefined : 'REPLICA IDENTITY USING INDEX names no valid index';
    default:
      return t.hasPrimaryKey
        ? undefined
        : 'no primary key and REPLICA IDENTITY DEFAULT (set REPLICA IDENTITY FULL or USING INDEX)';
  }
}

const plain = (t: QualifiedTable): QualifiedTable => ({ schema: t.schema, name: t.name });

export function coverageProblems(c: Coverage): string[] {
  const list = (ts: QualifiedTable[]) => ts.map(qualified).join(', ');
  const problems: string[] = [];
  if (c.onlyOnPublisher.length) problems.push(`only on the publisher: ${list(c.onlyOnPublisher)}`);
  if (c.onlyOnSubscriber.length) problems.push(`only on the subscriber: ${list(c.onlyOnSubscriber)}`);
  if (c.notPublished.length) problems.push(`on both sides but not published: ${list(c.notPublished)}`);
  for (const u of c.unexpectedlyPublished) problems.push(`published but ${u.why}: ${qualified(u.table)}`);
  if (c.notSubscribed.length)
    problems.push(
      `published but not subscribed (ALTER SUBSCRIPTION ... REFRESH PUBLICATION): ${list(c.notSubscribed)}`,
    );
  for (const i of c.identity) problems.push(`${qualified(i.table)}: ${i.why}`);
  return problems;
}
