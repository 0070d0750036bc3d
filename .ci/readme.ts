// Regenerates the input/output tables in README.md from each actions/<name>/action.yml,
// between `<!-- action-io:<name> -->` and `<!-- /action-io:<name> -->` markers.
// `--check` exits 1 when README.md is out of date (the tests run it that way).
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '..');

interface ActionYml {
  inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>;
  outputs?: Record<string, { description?: string }>;
}

const cell = (s: unknown) =>
  String(s ?? '')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\s*\n\s*/g, ' ')
    .trim();

export function actionTables(action: string): string {
  const yml = parse(readFileSync(join(root, 'actions', action, 'action.yml'), 'utf8')) as ActionYml;
  const lines = ['| Input | Required | Default | Description |', '| --- | --- | --- | --- |'];
  for (const [name, i] of Object.entries(yml.inputs ?? {})) {
    const def = i.default === undefined || i.default === '' ? '' : `\`${cell(i.default)}\``;
    lines.push(`| \`${name}\` | ${i.required ? 'yes' : 'no'} | ${def} | ${cell(i.description)} |`);
  }
  lines.push('', '| Output | Description |', '| --- | --- |');
  for (const [name, o] of Object.entries(yml.outputs ?? {})) lines.push(`| \`${name}\` | ${cell(o.description)} |`);
  return lines.join('\n');
}

export function actionNames(): string[] {
  return readdirSync(join(root, 'actions'))
    .filter((d) => existsSync(join(root, 'actions', d, 'action.yml')))
    .sort();
}

export function renderReadme(text: string): { text: string; missing: string[] } {
  const missing: string[] = [];
  for (const action of actionNames()) {
    const re = new RegExp(`(<!-- action-io:${action} -->)[\\s\\S]*?(<!-- /action-io:${action} -->)`);
    if (!re.test(text)) {
      missing.push(action);
      continue;
    }
    text = text.replace(re, `$1\n${actionTables(action)}\n$2`);
  }
  return { text, missing };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const path = join(root, 'README.md');
  const current = readFileSync(path, 'utf8');
  const { text, missing } = renderReadme(current);
  if (missing.length) console.error(`README.md has no <!-- action-io:NAME --> markers for: ${missing.join(', ')}`);
  if (process.argv.includes('--check')) {
    if (text !== current || missing.length) {
      console.error('README.md tables differ from action.yml: run `npx tsx .ci/readme.ts`');
      process.exit(1);
    }
  } else {
    writeFileSync(path, text);
  }
}
