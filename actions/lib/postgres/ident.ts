// SQL identifiers: always quoted when spliced into SQL (values always go as parameters).

/** `"name"` with embedded double quotes doubled, so any table name is safe in SQL text. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error(`identifier contains a NUL byte: ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"` for SQL text. */
export function qualifiedIdent(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Human-readable `schema.name`: quoted only where Postgres would need it (capitals, quotes, spaces). */
export function displayName(...parts: string[]): string {
  return parts.map((p) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : quoteIdent(p))).join('.');
}

// One identifier as PostgreSQL reads it: "quoted" (a doubled quote is one quote) or bare (letters,
// digits, _ and $, not starting with a digit or $).
const IDENT = String.raw`(?:"((?:[^"]|"")+)"|([\p{L}_][\p{L}\p{N}_$]*))`;
const QUALIFIED = new RegExp(`^${IDENT}\\.${IDENT}$`, 'u');

/**
 * `schema.table` resolved as PostgreSQL resolves the names: a bare name folded to lower case (ASCII
 * letters only, as in a UTF-8 database), a "quoted" one kept as written; undefined if it is not one.
 */
export function parseQualifiedName(text: string): { schema: string; name: string } | undefined {
  const m = QUALIFIED.exec(text.trim());
  if (!m) return undefined;
  const part = (quoted?: string, bare?: string) =>
    quoted !== undefined ? quoted.replace(/""/g, '"') : bare!.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  return { schema: part(m[1], m[2]), name: part(m[3], m[4]) };
}
