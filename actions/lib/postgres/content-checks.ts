// User checks: one read-only statement each (`query`), judged against a value (`expect`) or
// against the same statement on live at the pinned moment (`same-as-live: true`). Each runs in a
// READ ONLY transaction under the statement timeout, as the extended protocol's single statement
// (a second statement cannot ride along). Values appear in the report only with `show: true`.
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describeError } from '../errors.js';
import { InputError } from '../inputs.js';
import type { ReadOnlyDb } from './readonly.js';
import { setLocalSql, TEXT_SETTINGS } from './content-text.js';

export interface UserCheck {
  name: string;
  database: string;
  query: string;
  /** The value the restore must give (compared as text); absent with sameAsLive. */
  expect?: string;
  sameAsLive: boolean;
  /** Print the values in the report and the JSON evidence. */
  show: boolean;
}

const fail = (why: string): never => {
  throw new InputError(
    'checks',
    `${why}; give a YAML list (or a file holding one) like ` +
      `- {name: ledger, database: app, query: 'SELECT sum(amount) FROM ledger', same-as-live: true}.`,
  );
};

/** The `checks` input: YAML inline, or the path of a YAML file. */
export function parseChecks(text: string | undefined, databases: string[]): UserCheck[] {
  if (!text?.trim()) return [];
  const source = !text.includes('\n') && /\.ya?ml$/i.test(text.trim()) ? readFile(text.trim()) : text;
  let doc: unknown;
  try {
    doc = parseYaml(source);
  } catch (err) {
    return fail(`is not valid YAML (${describeError(err).split('\n')[0]})`);
  }
  if (!Array.isArray(doc)) return fail('is not a list');
  const names = new Set<string>();
  return doc.map((item, i) => {
    const c = parseCheck(item, i, databases);
    if (names.has(c.name)) fail(`has two checks named '${c.name}'`);
    names.add(c.name);
    return c;
  });
}

function readFile(path: string): string {
  if (!existsSync(path)) return fail(`names the file ${path}, which does not exist`);
  return readFileSync(path, 'utf8');
}

const KEYS = new Set(['name', 'database', 'query', 'expect', 'same-as-live', 'show']);

function parseCheck(item: unknown, i: number, databases: string[]): UserCheck {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return fail(`item ${i + 1} is not a mapping`);
  const o = item as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(`item ${i + 1} has unknown key '${k}'`);
  const str = (k: string) => (typeof o[k] === 'string' && (o[k] as string).trim() ? (o[k] as string) : undefined);
  const name = str('name') ?? fail(`item ${i + 1} has no name`);
  const query = str('query') ?? fail(`check '${name}' has no query`);
  const database = str('database') ?? databases[0] ?? fail(`check '${name}' has no database`);
  if (databases.length && !databases.includes(database))
    fail(`check '${name}' reads database '${database}', which the drill does not compare (${databases.join(', ')})`);
  const sameAsLive = o['same-as-live'] === true;
  const hasExpect = 'expect' in o && o.expect !== null;
  if (sameAsLive === hasExpect) fail(`check '${name}' needs exactly one of expect or same-as-live: true`);
  if ('show' in o && typeof o.show !== 'boolean') fail(`check '${name}': show is true or false`);
  return {
    name,
    database,
    query,
    ...(hasExpect && { expect: typeof o.expect === 'object' ? JSON.stringify(o.expect) : String(o.expect) }),
    sameAsLive,
    show: o.show === true,
  };
}

/** A result's canonical text: one value alone as itself, else the rows as JSON (dates in ISO form). */
export function resultText(rows: Record<string, unknown>[]): string {
  const plain = (v: unknown): unknown =>
    v instanceof Date ? v.toISOString() : Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v;
  if (rows.length === 1 && Object.keys(rows[0]).length === 1) {
    const v = plain(Object.values(rows[0])[0]);
    return v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return JSON.stringify(rows.map((r) => Object.values(r).map(plain)));
}

export type CheckRun = { value: string } | { error: string };

/** Runs the check's statement once, read-only, under `statementTimeoutMs`. */
export async function runCheck(db: ReadOnlyDb, c: UserCheck, statementTimeoutMs: number): Promise<CheckRun> {
  try {
    const rows = await db.transaction(async (q) => {
      await q(setLocalSql(TEXT_SETTINGS, { statement_timeout: [String(Math.floor(statementTimeoutMs)), ''] }));
      return q(c.query);
    });
    return { value: resultText(rows) };
  } catch (err) {
    return { error: describeError(err) };
  }
}
