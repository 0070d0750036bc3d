// Input reading and validation. Every input is checked before anything is created; a bad one
// raises InputError naming the input and the fix, and the entry reports it as the one failure.
import type { Core } from './core.js';

export class InputError extends Error {
  constructor(
    readonly input: string,
    problem: string,
    /** An input of many parts (files): each part's problem, annotated on its own before the message. */
    readonly problems: string[] = [],
  ) {
    super(`Input '${input}': ${problem}`);
    this.name = 'InputError';
  }
}

/** An action's inputs as declared in its action.yml (a generated module, e.g. drill/input-spec.ts). */
export type InputDefaults = Readonly<Record<string, { readonly default?: string; readonly description?: string }>>;

export class Inputs {
  /** `declared`: the action.yml defaults, used for an empty input as the runner does for an absent one,
   *  so a default is written once; an input without one falls back to the method's `fallback`. */
  constructor(
    private readonly core: Pick<Core, 'getInput'>,
    private readonly declared: InputDefaults = {},
  ) {}

  raw(name: string): string {
    return this.core.getInput(name).trim() || (this.declared[name]?.default ?? '');
  }

  required(name: string, hint = "set it in the step's `with:`"): string {
    const v = this.raw(name);
    if (!v) throw new InputError(name, `is required; ${hint}.`);
    return v;
  }

  optional(name: string): string | undefined {
    return this.raw(name) || undefined;
  }

  string(name: string, fallback = ''): string {
    return this.raw(name) || fallback;
  }

  boolean(name: string, fallback = false): boolean {
    const v = this.raw(name).toLowerCase();
    if (!v) return fallback;
    if (['true', 'yes', '1', 'on'].includes(v)) return true;
    if (['false', 'no', '0', 'off'].includes(v)) return false;
    throw new InputError(name, `'${v}' is not a boolean; use true or false.`);
  }

  number(name: string, fallback?: number, range: { min?: number; max?: number; integer?: boolean } = {}): number {
    const v = this.raw(name);
    if (!v) return fallback ?? Number(this.required(name));
    const n = Number(v);
    const { min = -Infinity, max = Infinity, integer = false } = range;
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      const kind = integer ? 'a whole number' : 'a number';
      throw new InputError(name, `'${v}' is not ${kind} between ${min} and ${max}.`);
    }
    return n;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback?: T): T {
    const v = this.raw(name);
    if (!v) return fallback ?? (this.required(name) as T);
    if (!(choices as readonly string[]).includes(v)) {
      throw new InputError(name, `'${v}' is not one of: ${choices.join(', ')}.`);
    }
    return v as T;
  }

  /** A duration such as `90s`, `30m`, `2h`, `7d` (a bare number is seconds); returns milliseconds. */
  duration(name: string, fallback?: string): number {
    const v = this.raw(name) || fallback || this.required(name);
    const ms = parseDuration(v);
    if (ms === undefined) throw new InputError(name, `'${v}' is not a duration; use e.g. 90s, 30m, 2h or 7d.`);
    return ms;
  }

  /** Newline- or comma-separated list, blanks dropped. */
  list(name: string): string[] {
    return this.raw(name)
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** A Kubernetes object name (DNS-1123 label, as CNPG requires for clusters). */
  kubeName(name: string, value: string): string {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) || value.length > 63) {
      throw new InputError(
        name,
        `'${value}' is not a valid Kubernetes name (lower-case letters, digits and '-', at most 63).`,
      );
    }
    return value;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] ?? 's'];
}
