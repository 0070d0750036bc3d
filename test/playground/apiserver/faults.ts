// API fault injection (FaultRule from types.ts) and the request log tests count writes in.
import type { FaultRule, RequestLogEntry } from '../types.js';

interface ActiveRule {
  rule: FaultRule;
  method: string;
  path: RegExp;
  query?: RegExp;
  left: number;
}

export class Faults {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    const times = rule.times === undefined || rule.times === null ? 1 : rule.times;
    this.rules.push({
      rule,
      method: (rule.method ?? '*').toUpperCase(),
      path: new RegExp(rule.path),
      query: rule.query !== undefined ? new RegExp(rule.query) : undefined,
      left: times < 0 ? Infinity : times,
    });
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r.rule, times: r.left }));
  }

  /** The first rule matching this request, consuming one of its `times`. dropWatch rules only match watches. */
  take(method: string, path: string, query: string, watch: boolean): FaultRule | undefined {
    const r = this.rules.find(
      (r) =>
        r.left > 0 &&
        (r.method === '*' || r.method === method) &&
        r.path.test(path) &&
        (!r.query || r.query.test(query)) &&
        (!r.rule.dropWatch || watch),
    );
    if (!r) return undefined;
    r.left--;
    if (r.left <= 0) this.rules = this.rules.filter((x) => x !== r);
    return r.rule;
  }
}

/** JSON has no Infinity: admin clients send `times` as "Infinity", null-less -1, or a number. */
export function faultRuleFromJson(body: Record<string, unknown>): FaultRule {
  if (typeof body.path !== 'string') throw new Error('fault rule needs a "path" regex string');
  const times = body.times;
  if (times !== undefined && times !== null && typeof times !== 'number' && times !== 'Infinity') {
    throw new Error('fault rule "times" must be a number or "Infinity"');
  }
  const rule = { ...body } as unknown as FaultRule;
  if (times === 'Infinity' || times === -1) rule.times = Infinity;
  else if (times === null) delete rule.times;
  return rule;
}

export class RequestLog {
  private log: RequestLogEntry[] = [];

  start(e: Omit<RequestLogEntry, 'status' | 'time'>): RequestLogEntry {
    const entry: RequestLogEntry = { ...e, time: Date.now(), status: 0 };
    this.log.push(entry);
    if (this.log.length > 20000) this.log.splice(0, 5000);
    return entry;
  }

  entries(): RequestLogEntry[] {
    return this.log.map((e) => ({ ...e }));
  }

  clear(): void {
    this.log = [];
  }
}
