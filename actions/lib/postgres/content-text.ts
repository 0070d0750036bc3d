// The text form the digest hashes (the whole row on PostgreSQL 13, the columns without an exact
// binary hash on 14+: content-row.ts) must not depend on the session, only on the stored values:
// the same row read on live and on the restore must give the same bytes. Every
// setting below changes how some type is written out; each is fixed to one value on both sides,
// inside the digest's own READ ONLY transaction (SET LOCAL semantics: set_config(..., true)).
// Collations need no setting: a value's text output never depends on its collation (only
// comparisons do), and the digest compares nothing; the key ranges compare keys in the "C"
// collation (content-digest.ts), which is the same on every server.

/** Setting -> [value, why]. */
export const TEXT_SETTINGS: Record<string, [string, string]> = {
  DateStyle: ['ISO, YMD', 'date, timestamp and timestamptz are written in the ISO form, not per the server default'],
  IntervalStyle: [
    'postgres',
    'interval is written in one style (sql_standard, iso_8601 write the same value otherwise)',
  ],
  TimeZone: ['UTC', 'timestamptz is written in the session time zone: fixed so both sides write the same offset'],
  extra_float_digits: ['1', 'float4/float8 (and geometric types) in the shortest exact form (PG 12+), never rounded'],
  bytea_output: ['hex', 'bytea written as hex (escape is the other form)'],
  lc_monetary: ['C', 'money is written with the currency symbol and separators of this locale'],
  search_path: ['pg_catalog', 'reg* types (regclass, regtype, ...) are written schema-qualified unless visible'],
};

/** Settings that make the digest read every heap page: a sequential scan, never an index (EXPLAIN-checked). */
export const SCAN_SETTINGS: Record<string, [string, string]> = {
  enable_indexscan: ['off', 'an index scan reads only the pages its key range needs'],
  enable_indexonlyscan: ['off', 'an index-only scan skips heap pages marked all-visible: they would go unread'],
  enable_bitmapscan: ['off', 'a bitmap heap scan reads only the pages the index points to'],
  // Not about pages: live's per-range sums group by at most ~101 ranges, which a hash table holds in
  // a few KiB; a sort would sort every row of the table first (measured 1.6x slower, content.bench.ts).
  enable_sort: ['off', 'group the key ranges by hashing, never by sorting every row'],
};

/** One statement that applies `settings` to the current transaction only. */
export function setLocalSql(...settings: Record<string, [string, string]>[]): string {
  const all = settings.flatMap((s) => Object.entries(s));
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return `SELECT ${all.map(([k, [v]]) => `set_config(${quote(k)}, ${quote(v)}, true)`).join(', ')}`;
}

/**
 * Column types whose text form these settings do not pin down: base types defined outside
 * pg_catalog (extensions, user types) with their own output functions. They are still digested
 * by their text form; the report names them so a difference there can be weighed.
 */
export const UNPINNED_TYPES_SQL = `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
    format_type(a.atttypid, a.atttypmod) AS type
  FROM unnest($1::text[], $2::text[]) AS t(schema, name)
  JOIN pg_namespace n ON n.nspname = t.schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type ty ON ty.oid = CASE WHEN (SELECT typelem FROM pg_type WHERE oid = a.atttypid) <> 0
                                    AND (SELECT typlen FROM pg_type WHERE oid = a.atttypid) = -1
                                   THEN (SELECT typelem FROM pg_type WHERE oid = a.atttypid) ELSE a.atttypid END
  JOIN pg_namespace tn ON tn.oid = ty.typnamespace
 WHERE ty.typtype = 'b' AND tn.nspname <> 'pg_catalog'`;
