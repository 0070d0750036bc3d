// Reads the apps' add-on declarations from app.toml files (a path or globs). Every problem
// names the file, the line and the fix; all files are checked before anything is changed.
import { readFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { glob } from 'tinyglobby';
import { describeError } from '../errors.js';
import { InputError } from '../inputs.js';
import { ADDON_KEYS, REGISTRY, providerOf } from './registry.js';
import { isDnsLabel } from './naming.js';
import type { AddonDeclaration, AppDeclaration } from './types.js';

/** A usage error: app.toml files with these problems (each names file, line and fix); nothing is changed. */
export class DeclarationError extends InputError {
  constructor(problems: string[]) {
    super('apps', `${problems.length} problem(s) in app.toml files; nothing was changed.`, problems);
    this.name = 'DeclarationError';
  }
}

/** Files matched by the `apps` input (paths or globs, relative to `cwd`); a pattern matching nothing is an error. */
export async function findAppFiles(patterns: string[], cwd: string): Promise<string[]> {
  const files = new Set<string>();
  const empty: string[] = [];
  for (const pattern of patterns) {
    const matched = await glob(pattern, { cwd, absolute: true, onlyFiles: true, dot: false });
    if (!matched.length) empty.push(pattern);
    for (const f of matched) files.add(resolve(f));
  }
  if (empty.length) {
    const which = empty.map((p) => `'${p}'`).join(', ');
    throw new InputError(
      'apps',
      `${which} ${empty.length > 1 ? 'match' : 'matches'} no file (relative to ${cwd}); ` +
        `give a path or glob of app.toml files, e.g. apps/*/app.toml.`,
    );
  }
  return [...files].sort();
}

export function readDeclarations(files: string[], cwd: string): AppDeclaration[] {
  const problems: string[] = [];
  const apps: AppDeclaration[] = [];
  for (const file of files) {
    const shown = relative(cwd, file) || file;
    try {
      apps.push(parseAppToml(readFileSync(file, 'utf8'), shown));
    } catch (err) {
      problems.push(err instanceof DeclarationError ? err.problems.join('\n') : `${shown}: ${describeError(err)}`);
    }
  }
  const byName = new Map<string, string>();
  for (const app of apps) {
    const other = byName.get(app.name);
    if (other)
      problems.push(
        `${app.file}:${1}: app name '${app.name}' is also declared by ${other}; give each app a unique name.`,
      );
    else byName.set(app.name, app.file);
  }
  if (problems.length) throw new DeclarationError(problems);
  return apps;
}

/** Parses one app.toml. `file` is how the file is named in messages. */
export function parseAppToml(text: string, file: string): AppDeclaration {
  const doc = parseToml(text, file);
  const at = (section: string | undefined, key: string) => `${file}:${lineOf(text, section, key)}`;
  const name = appName(doc, file, at);
  if (!('addons' in doc)) return { name, file };
  const addonsTable = doc.addons;
  if (!isTable(addonsTable)) {
    throw new DeclarationError([
      `${at(undefined, 'addons')}: 'addons' must be a table, e.g. [addons.postgresql] with variant = "small".`,
    ]);
  }
  const problems: string[] = [];
  const addons: AddonDeclaration[] = [];
  for (const [addon, body] of Object.entries(addonsTable)) {
    const parsed = parseAddon(addon, body, at, problems);
    if (parsed) addons.push(parsed);
  }
  if (problems.length) throw new DeclarationError(problems);
  return { name, file, addons };
}

type At = (section: string | undefined, key: string) => string;

function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw new DeclarationError([
        `${file}:${err.line}:${err.column}: invalid TOML (${first}); fix the syntax at that position.`,
      ]);
    }
    throw err;
  }
}

/** `name`, else the app.toml's directory name; it must be a Kubernetes name. */
function appName(doc: Record<string, unknown>, file: string, at: At): string {
  if (doc.name !== undefined && typeof doc.name !== 'string')
    throw new DeclarationError([`${at(undefined, 'name')}: 'name' must be a string (the app name).`]);
  const name = doc.name === undefined ? basename(dirname(resolve(file))) : (doc.name as string);
  if (!isDnsLabel(name)) {
    throw new DeclarationError([
      `${at(undefined, 'name')}: app name '${name}' must be a Kubernetes name (lower-case letters, digits ` +
        `and '-', at most 63), because it names the app's namespace, Secret and Deployment; rename it.`,
    ]);
  }
  return name;
}

/** One [addons.<name>] table; what is wrong is added to `problems` (undefined is returned then). */
function parseAddon(addon: string, body: unknown, at: At, problems: string[]): AddonDeclaration | undefined {
  const provider = providerOf(addon);
  const line = at('addons', addon);
  if (!provider) {
    problems.push(`${line}: unknown add-on '${addon}'; valid add-ons: ${REGISTRY.map((p) => p.name).join(', ')}.`);
    return undefined;
  }
  if (!isTable(body)) {
    problems.push(
      `${line}: 'addons.${addon}' must be a table, e.g. [addons.${addon}] with variant = "${provider.defaultVariant}".`,
    );
    return undefined;
  }
  const section = `addons.${addon}`;
  for (const key of Object.keys(body)) {
    if (!(ADDON_KEYS as readonly string[]).includes(key)) {
      problems.push(`${at(section, key)}: unknown key '${key}' in [${section}]; valid keys: ${ADDON_KEYS.join(', ')}.`);
    }
  }
  const variantValue = body.variant ?? '';
  if (typeof variantValue !== 'string') {
    problems.push(
      `${at(section, 'variant')}: 'variant' must be a string; valid variants: ${Object.keys(provider.variants).join(', ')}.`,
    );
    return undefined;
  }
  const variant = variantValue || provider.defaultVariant;
  if (!provider.variants[variant]) {
    problems.push(
      `${at(section, 'variant')}: unknown variant '${variant}' for ${addon}; valid ` +
        `variants: ${Object.keys(provider.variants).join(', ')} (default ${provider.defaultVariant}).`,
    );
    return undefined;
  }
  if (body.version === undefined) return { addon, variant };
  if (typeof body.version === 'string' && /^\d+(\.\d+)?$/.test(body.version))
    return { addon, variant, version: body.version };
  if (typeof body.version === 'number' && Number.isInteger(body.version))
    return { addon, variant, version: String(body.version) };
  problems.push(
    `${at(section, 'version')}: 'version' must be a PostgreSQL major version such as "16", not ${JSON.stringify(body.version)}.`,
  );
  return undefined;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * The line of `key` inside table `section` (or the top level), for messages: smol-toml gives
 * positions only for syntax errors. Handles [section] headers, dotted keys and inline tables
 * well enough to point at the right line; falls back to the first mention of the key.
 */
export function lineOf(text: string, section: string | undefined, key: string): number {
  const lines = text.split(/\r?\n/);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const keyRe = (k: string) => new RegExp(`^\\s*["']?${esc(k)}["']?\\s*(=|\\.)`);
  let current: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(lines[i]);
    if (header) {
      current = header[1].replace(/\s+/g, '').replace(/["']/g, '');
      // `[addons.postgresql]` is where addon `postgresql` of section `addons` is declared.
      if (section && current === `${section}.${key}`) return i + 1;
      continue;
    }
    if (current === section && keyRe(key).test(lines[i])) return i + 1;
    if (section && current === undefined && keyRe(`${section}.${key}`).test(lines[i].replace(/\s*\.\s*/g, '.')))
      return i + 1;
    if (
      section &&
      current === undefined &&
      new RegExp(`^\\s*${esc(section.split('.')[0])}\\s*=.*\\b${esc(key)}\\b`).test(lines[i])
    )
      return i + 1;
  }
  const any = lines.findIndex((l) => new RegExp(`\\b${esc(key)}\\b`).test(l));
  return any >= 0 ? any + 1 : 1;
}
