// Keyword-by-keyword comparison of a CRD's schemas: what the server holds against what the chart
// carries. Lists every keyword whose value differs or is missing on one side, by schema path.
import { isDeepStrictEqual } from 'node:util';

type Node = Record<string, unknown>;
const isObj = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const SUBSCHEMAS = new Set(['properties', 'additionalProperties', 'items', 'allOf', 'anyOf', 'oneOf', 'not']);

export function schemaDifferences(server: unknown, chart: unknown, path = ''): string[] {
  if (!isObj(server) || !isObj(chart))
    return isDeepStrictEqual(server, chart)
      ? []
      : [`${path || '.'}: server ${JSON.stringify(server)} != chart ${JSON.stringify(chart)}`];
  const out: string[] = [];
  for (const key of new Set([...Object.keys(server), ...Object.keys(chart)])) {
    const p = `${path}.${key}`;
    if (!(key in server)) out.push(`${p}: missing on the server`);
    else if (!(key in chart)) out.push(`${p}: only on the server`);
    else if (key === 'properties' && isObj(server[key]) && isObj(chart[key])) {
      for (const name of new Set([...Object.keys(server[key] as Node), ...Object.keys(chart[key] as Node)]))
        out.push(...schemaDifferences((server[key] as Node)[name], (chart[key] as Node)[name], `${p}[${name}]`));
    } else if (SUBSCHEMAS.has(key) && Array.isArray(server[key]) && Array.isArray(chart[key])) {
      const [a, b] = [server[key] as unknown[], chart[key] as unknown[]];
      for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...schemaDifferences(a[i], b[i], `${p}[${i}]`));
    } else if (SUBSCHEMAS.has(key)) out.push(...schemaDifferences(server[key], chart[key], p));
    else if (!isDeepStrictEqual(server[key], chart[key]))
      out.push(`${p}: server ${JSON.stringify(server[key])} != chart ${JSON.stringify(chart[key])}`);
  }
  return out;
}

/** How often each validation keyword occurs in a schema (to show the comparison is not vacuous). */
export function keywordCounts(schema: unknown): Record<string, number> {
  const counts: Record<string, number> = {
    enum: 0,
    default: 0,
    'x-kubernetes-validations': 0,
    'x-kubernetes-int-or-string': 0,
    'x-kubernetes-list-type': 0,
    pattern: 0,
  };
  const walk = (n: unknown, inProps: boolean) => {
    if (Array.isArray(n)) return n.forEach((x) => walk(x, false));
    if (!isObj(n)) return;
    for (const [k, v] of Object.entries(n)) {
      if (!inProps && k in counts) counts[k]++;
      walk(v, k === 'properties' && !inProps);
    }
  };
  walk(schema, false);
  return counts;
}
