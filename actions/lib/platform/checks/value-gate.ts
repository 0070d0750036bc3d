// Which chart value turns a rendered object off. Heuristic, in order of confidence:
//  1. the template's own conditions: the `{{ if }}`/`{{ with }}` blocks still open where the
//     object's `kind:` line sits; a `.Values.x` they test (a boolean or `...enabled` key first)
//     is the switch. Prefixed with the subchart's values path (cloudnative-pg.monitoring...).
//  2. otherwise a boolean values key of that chart whose path names the kind (podMonitor,
//     podMonitorEnabled, serviceMonitor.enabled...), as charts conventionally name toggles.
//  3. otherwise only the template file is reported.
import { parse as parseYaml } from 'yaml';
import type { ChartTree } from '../chart-files.js';

export interface ValueGate {
  /** helm's source path of the template. */
  template: string;
  /** Full values path from the root chart, e.g. cloudnative-pg.monitoring.podMonitor.enabled. */
  value?: string;
  /** How the value was found, for the message. */
  evidence?: string;
}

const ACTION = /\{\{-?\s*(if|with|range|else if|else|end)\b([^}]*)-?\}\}/g;
const VALUES_REF = /\$?\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g;

export function findValueGate(tree: ChartTree, source: string, kind: string): ValueGate {
  const at = tree.locate(source);
  const text = at?.chart.files(at.file);
  if (!at || text === undefined) return { template: source };
  const prefix = at.chart.valuesPath;
  const values = (parseYaml(at.chart.files('values.yaml') ?? '') ?? {}) as Record<string, unknown>;
  const full = (p: string) => [...prefix, p].join('.');

  const open = openConditionsAt(text, kindLine(text, kind));
  const refs = open.flatMap((cond) => [...cond.matchAll(VALUES_REF)].map((m) => m[1]));
  if (refs.length) {
    const ranked = [...refs].sort((a, b) => score(b, values) - score(a, values));
    const cond = open.find((c) => c.includes(`.Values.${ranked[0]}`))!;
    return { template: source, value: full(ranked[0]), evidence: `the template is wrapped in {{ ${cond.trim()} }}` };
  }
  const named = booleanPaths(values).find((p) => p.toLowerCase().includes(kind.toLowerCase()));
  if (named)
    return {
      template: source,
      value: full(named),
      evidence: `a boolean value named after the kind (${kind}); the template itself tests no value`,
    };
  return { template: source };
}

function kindLine(text: string, kind: string): number {
  const m = new RegExp(`^\\s*kind:\\s*["']?${kind}["']?\\s*$`, 'm').exec(text);
  return m ? m.index : text.length;
}

/** The conditions of the if/with blocks that are open at `pos` (outermost first). */
function openConditionsAt(text: string, pos: number): string[] {
  const stack: string[] = [];
  for (const m of text.matchAll(ACTION)) {
    if (m.index >= pos) break;
    const [, verb, rest] = m;
    if (verb === 'end') stack.pop();
    else if (verb === 'else' || verb === 'else if') {
      stack.pop();
      // Inside an else branch the switch is still the original condition, negated: keep it visible.
      stack.push(`${verb}${rest}`);
    } else stack.push(`${verb}${rest}`);
  }
  return stack.filter((c) => !c.startsWith('range'));
}

function score(path: string, values: Record<string, unknown>): number {
  const v = path
    .split('.')
    .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), values);
  return (typeof v === 'boolean' ? 2 : 0) + (/enabled$/i.test(path) ? 1 : 0);
}

function booleanPaths(values: unknown, prefix = ''): string[] {
  if (!values || typeof values !== 'object' || Array.isArray(values)) return [];
  return Object.entries(values as Record<string, unknown>).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return typeof v === 'boolean' ? [p] : booleanPaths(v, p);
  });
}
