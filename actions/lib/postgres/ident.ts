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
