// What a row's 64-bit digest is computed from (content-digest.ts, content-ranges.ts). Forming every
// row's text costs 4.6x a parallel scan (test/bench/content.bench.ts), more than the digest's budget,
// so on PostgreSQL 14+ (hash_record_extended) each column is hashed from its stored value where that
// is exact, and only the other columns go through their text form:
// - HASHED: the type's own extended hash reads every bit of the value (int2/int4/oid/date/bool hash
//   their 32-bit value; text, varchar, bytea and uuid their bytes). Collatable columns are hashed in
//   the "C" collation: a nondeterministic collation hashes strings that compare equal alike.
// - SENT: the type's hash is coarser than the value, so exact fields are hashed instead: the binary
//   send form (its exact bytes); bigint with its high half, character with its length. int8 and the
//   timestamp/time types fold 64 bits into 32 before hashing (0 and 4294967297 hash alike;
//   test/postgres/content-row.test.ts shows each case); numeric ignores the display scale (1.0 and
//   1.00), float4/float8 equate -0 and 0, interval equates '1 day' and '24 hours', bpchar ignores
//   trailing blanks.
// - Every other column (arrays, composites, ranges, json, extension types...) in its text form under
//   TEXT_SETTINGS (content-text.ts), as one field.
// Both sides derive the form from their own catalog; a physical restore has the same one, and a
// schema difference is reported by the schema comparison anyway. PostgreSQL 13 digests the whole
// row's text, as before.
import { quoteIdent } from './ident.js';
import type { Q } from './readonly.js';
import type { TableRef } from './schema.js';

/** Row alias in the digest queries: a name no real column is likely to have (t::text would read a column named t). */
export const ROW = '__cnpg_drill_row__';

/** Types hashed by their own extended hash function (exact: see above). */
export const HASHED = [
  'boolean',
  '"char"',
  'smallint',
  'integer',
  'oid',
  'date',
  'text',
  'character varying',
  'bytea',
  'uuid',
];

/**
 * Types whose own hash is coarser than the value, and the exact fields hashed instead: the send
 * function's bytes; for bigint the value and its high 32 bits (its hash keeps lo ^ hi, so with hi
 * the value is determined; cheaper than int8send's buffer).
 */
export const SENT: Record<string, (col: string) => string> = {
  bigint: (c) => `${c}, (${c} >> 32)::integer`,
  'timestamp without time zone': (c) => `timestamp_send(${c})`,
  'timestamp with time zone': (c) => `timestamptz_send(${c})`,
  'time without time zone': (c) => `time_send(${c})`,
  'time with time zone': (c) => `timetz_send(${c})`,
  numeric: (c) => `numeric_send(${c})`,
  real: (c) => `float4send(${c})`,
  'double precision': (c) => `float8send(${c})`,
  interval: (c) => `interval_send(${c})`,
  // Not bpcharsend: it converts to the session's client_encoding. The blanks its hash drops are in the length.
  character: (c) => `${c} COLLATE "C", octet_length(${c})`,
};

export interface RowColumn {
  name: string;
  /** format_type of the column's type (of a domain's base type), when HASHED or SENT; else null. */
  type: string | null;
  collatable: boolean;
}

/** A table's columns in attnum order, or undefined: the whole row's text (PostgreSQL 13). */
export type RowForm = RowColumn[] | undefined;

const FORM_SQL = `SELECT t.i::int AS i, a.attname AS name, a.attcollation <> 0 AS collatable,
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
    [...HASHED, ...Object.keys(SENT)],
  ]);
  const forms: RowColumn[][] = tables.map(() => []);
  for (const { i, ...c } of rows) forms[i - 1].push(c);
  return forms.map((f) => (f.length ? f : undefined));
}

/** A row's 64-bit digest in SQL, for a row aliased ROW. */
export function rowHashSql(form: RowForm): string {
  const whole = `hashtextextended(${ROW}::text COLLATE "C", 0)`;
  if (!form || form.every((c) => c.type === null)) return whole;
  const col = (c: RowColumn) => `${ROW}.${quoteIdent(c.name)}`;
  const exact = form.filter((c) => c.type !== null);
  const rest = form.filter((c) => c.type === null);
  const fields = exact.map((c) => {
    const exactForm = SENT[c.type!];
    if (exactForm) return exactForm(col(c));
    return c.collatable ? `${col(c)} COLLATE "C"` : col(c);
  });
  if (rest.length) fields.push(`ROW(${rest.map(col).join(', ')})::text COLLATE "C"`);
  // hash_record_extended is linear in its fields' hashes (result * 31 + hash, rowtypes.c), so a sum of
  // rows would depend only on each column's values, not on which row holds them (two values swapped
  // between rows would cancel out): the row's hash seeds one more hash, which mixes it non-linearly.
  return `hashtextextended('' COLLATE "C", hash_record_extended(ROW(${fields.join(', ')}), 0))`;
}
