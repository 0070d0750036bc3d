// What a row's 64-bit digest is computed from (content-digest.ts, content-ranges.ts). Forming every
// row's text costs 4.6x a parallel scan (test/bench/content.bench.ts), more than the digest's budget,
// so on PostgreSQL 14+ each column is hashed from its stored value where that is exact, and only the
// other columns go through their text form:
// - HASHED: the type's own extended hash reads every bit of the value (int2, int4, oid, "char" and bool hash
//   their value; text, varchar and uuid their bytes). Collatable columns are hashed in the "C"
//   collation: a nondeterministic collation hashes strings that compare equal alike.
// - SENT: the type's hash is coarser than the value, so exact fields are hashed instead: the binary
//   send form's bytes (as hex: bytea's hash cannot be called from SQL); bigint with its high half,
//   character with its length. int8 and the timestamp/time types fold 64 bits into 32 before hashing
//   (0 and 4294967297 hash alike; test/postgres/content-row.test.ts shows each case); numeric ignores
//   the display scale (1.0 and 1.00), float4/float8 equate -0 and 0, interval equates '1 day' and
//   '24 hours', bpchar ignores trailing blanks; date's own hash is exact but takes an int4, which
//   SQL cannot cast a date to.
// - IN_RECORD (bytea): its own hash, which only hash_record_extended calls from SQL (hex would double
//   a value of up to 1 GB).
// - Every other column (arrays, composites, ranges, json, extension types...) in its text form under
//   TEXT_SETTINGS (content-text.ts), as one field.
// The hashes are combined without forming a record per row (forming ROW(...) and hash_record_extended
// taking it apart were ~40% of the digest's CPU, by perf): a NOT NULL column's hash is seeded with the
// hash of the columns before it, a chain (of at most CHAIN columns: all but the last chain are XORed
// in like nullable columns, as the parser nests no deeper); a nullable column is hashed alone, seeded
// with its place (two columns swapping values change the digest), NULL as 0, and XORed in below the
// chain. The outermost step is always a seeded hash, which mixes everything below it non-linearly: a table's
// digest is a sum of rows, so a linear row hash would let values swapped between rows cancel out. A
// NOT NULL column can still hold NULL (a NOT VALID constraint on PostgreSQL 18): such a row takes the
// form with every column nullable. Both sides derive the form from their own catalog; a physical
// restore has the same one, and a schema difference is reported by the schema comparison anyway.
// PostgreSQL 13 digests the whole row's text, as before.
import { quoteIdent } from './ident.js';
import type { Q } from './readonly.js';
import type { TableRef } from './schema.js';

/** Row alias in the digest queries: a name no real column is likely to have (t::text would read a column named t). */
export const ROW = '__cnpg_drill_row__';

/** SQL hashing `col` exactly, seeded with `seed` (a bigint expression); NULL when `col` is NULL. */
type Hash = (col: string, seed: string) => string;

const hashText: Hash = (c, s) => `hashtextextended(${c} COLLATE "C", ${s})`;
const own =
  (fn: string): Hash =>
  (c, s) =>
    `${fn}(${c}, ${s})`;
const sent =
  (send: string): Hash =>
  (c, s) =>
    hashText(`encode(${send}(${c}), 'hex')`, s);

/** Types hashed by their own extended hash function (exact: see above). */
export const HASHED: Record<string, Hash> = {
  // Its own hash (hashcharextended) takes a "char": hashed as 0 or 1.
  boolean: (c, s) => `hashint4extended(${c}::integer, ${s})`,
  '"char"': own('hashcharextended'),
  smallint: own('hashint2extended'),
  integer: own('hashint4extended'),
  oid: own('hashoidextended'),
  text: hashText,
  'character varying': hashText,
  uuid: own('uuid_hash_extended'),
};

/**
 * Types whose own hash is coarser than the value, or cannot be called from SQL, and the exact fields
 * hashed instead: the send function's bytes; for bigint the value and its high 32 bits (its hash keeps
 * lo ^ hi, and hashint8extended hashes c >> 32, within the int4 range, as its low half: with hi the
 * value is determined; cheaper than int8send's buffer); for character the value and its length.
 */
export const SENT: Record<string, Hash> = {
  bigint: (c, s) => `hashint8extended(${c}, hashint8extended(${c} >> 32, ${s}))`,
  'timestamp without time zone': sent('timestamp_send'),
  'timestamp with time zone': sent('timestamptz_send'),
  'time without time zone': sent('time_send'),
  'time with time zone': sent('timetz_send'),
  numeric: sent('numeric_send'),
  real: sent('float4send'),
  'double precision': sent('float8send'),
  interval: sent('interval_send'),
  date: sent('date_send'),
  // Not bpcharsend: it converts to the session's client_encoding. The blanks its hash drops are in the length.
  character: (c, s) => `hashbpcharextended(${c} COLLATE "C", hashint4extended(octet_length(${c}), ${s}))`,
};

/** Types hashed by their own hash inside hash_record_extended (hashvarlenaextended takes `internal`). */
export const IN_RECORD = ['bytea'];

export interface RowColumn {
  name: string;
  /** format_type of the column's type (of a domain's base type), when HASHED, SENT or IN_RECORD; else null. */
  type: string | null;
  collatable: boolean;
  /** attnotnull: a NOT NULL constraint (on 18 possibly NOT VALID, so not a promise). */
  notNull: boolean;
}

/** A table's columns in attnum order, or undefined: the whole row's text (PostgreSQL 13). */
export type RowForm = RowColumn[] | undefined;

const FORM_SQL = `SELECT t.i::int AS i, a.attname AS name, a.attcollation <> 0 AS collatable, a.attnotnull AS "notNull",
    CASE WHEN b.typnamespace = 'pg_catalog'::regnamespace AND format_type(b.oid, NULL) = ANY ($3::text[])
         THEN format_type(b.oid, NULL) END AS type
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(schema, name, i)
  JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
  JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
 WHERE current_setting('server_version_num')::int >= 140000
 ORDER BY t.i, a.attnum`;

/** Each table's row form, in `tables`' order (one catalog read for all of them). */
export async function rowForms(q: Q, tables: TableRef[]): Promise<RowForm[]> {
  const rows = await q<RowColumn & { i: number }>(FORM_SQL, [
    tables.map((t) => t.schema),
    tables.map((t) => t.name),
    [...Object.keys(HASHED), ...Object.keys(SENT), ...IN_RECORD],
  ]);
  const forms: RowColumn[][] = tables.map(() => []);
  for (const { i, ...c } of rows) forms[i - 1].push(c);
  return forms.map((f) => (f.length ? f : undefined));
}

const hashOf = (c: RowColumn): Hash | undefined => (c.type === null ? undefined : (HASHED[c.type] ?? SENT[c.type]));

/** A row's 64-bit digest in SQL, for a row aliased ROW. */
export function rowHashSql(form: RowForm): string {
  if (!form || form.every((c) => c.type === null)) return `hashtextextended(${ROW}::text COLLATE "C", 0)`;
  const fast = combinedHash(form, true);
  // A NOT NULL column holding NULL makes the chain NULL, and sum() would skip the row: the other form.
  return form.some((c) => c.notNull && hashOf(c)) ? `coalesce(${fast}, ${combinedHash(form, false)})` : fast;
}

/**
 * NOT NULL columns per chain: each column's hash nests in the next one's seed, and a chain of ~1200
 * (a bigint is two calls) overflows the parser's stack ("memory exhausted", 1600 columns are allowed).
 */
export const CHAIN = 100;

/** The columns' hashes combined (see above); `chainNotNull` false: every column taken as nullable. */
function combinedHash(form: RowColumn[], chainNotNull: boolean): string {
  const col = (c: RowColumn) => `${ROW}.${quoteIdent(c.name)}`;
  const place = (c: RowColumn) => String(form.indexOf(c) + 1);
  const chain = (cols: RowColumn[], seed: string) => cols.reduce((acc, c) => hashOf(c)!(col(c), acc), seed);
  const chained = form.filter((c) => chainNotNull && c.notNull && hashOf(c));
  const record = form.filter((c) => c.type !== null && IN_RECORD.includes(c.type));
  const rest = form.filter((c) => c.type === null);
  const terms = form
    .filter((c) => hashOf(c) && !chained.includes(c))
    .map((c) => `coalesce(${hashOf(c)!(col(c), place(c))}, 0)`);
  // Every chain but the last is seeded with its first column's place and XORed in like a nullable
  // column, not coalesced (NULL there is a NOT NULL column holding NULL: the other form).
  for (let i = 0; i + CHAIN < chained.length; i += CHAIN)
    terms.push(chain(chained.slice(i, i + CHAIN), place(chained[i])));
  if (record.length) terms.unshift(`hash_record_extended(ROW(${record.map(col).join(', ')}), 0)`);
  const last = Math.max(0, Math.floor((chained.length - 1) / CHAIN) * CHAIN);
  const acc = chain(chained.slice(last), terms.length ? terms.join(' # ') : '0');
  // The text of the rest is never NULL (a ROW of NULLs is '(,)'), so it chains too.
  if (rest.length) return hashText(`ROW(${rest.map(col).join(', ')})::text`, acc);
  // Only XORed terms (or nothing but the record): one more seeded hash mixes them.
  return chained.length ? acc : hashText(`''`, acc);
}
