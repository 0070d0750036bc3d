// Table names as the gate reports them (schema.table) and the exclude-tables patterns.

import { displayName } from '../postgres/ident.js';
import type { TableRef } from '../postgres/schema.js';

export type QualifiedTable = TableRef;

/** `schema.*` matches a whole schema; a bare name means the public schema. */
export interface TablePattern {
  schema: string;
  name: string | '*';
}

/** schema.table, quoted only where Postgres would need it: also the key tables are matched by. */
export const qualified = (t: QualifiedTable) => displayName(t.schema, t.name);

export function parseTablePattern(text: string): TablePattern | undefined {
  const parts = text.trim().split('.');
  const ok = (s: string) => s.length > 0 && s.length <= 63 && !/\s/.test(s);
  if (parts.length === 1 && ok(parts[0]) && parts[0] !== '*') return { schema: 'public', name: parts[0] };
  if (parts.length === 2 && ok(parts[0]) && ok(parts[1]) && parts[0] !== '*')
    return { schema: parts[0], name: parts[1] };
  return undefined;
}

export function isExcluded(t: QualifiedTable, patterns: readonly TablePattern[]): boolean {
  return patterns.some((p) => p.schema === t.schema && (p.name === '*' || p.name === t.name));
}

export function byName(a: QualifiedTable, b: QualifiedTable): number {
  return qualified(a).localeCompare(qualified(b));
}
