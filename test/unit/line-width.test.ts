// No line of the actions' TypeScript (actions/lib and the entry files under actions/) is over 140
// characters. Prettier wraps code at printWidth 120 but never breaks a string or template literal, so
// long messages are split by hand: `...` +\n `...` at a word, or a long ${cond ? ... : ...} hoisted into
// a const just above. This test lists what is still too long as file:line:length.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-action.js';

const MAX_LINE = 140;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

it(`no line of a .ts file under actions/ is over ${MAX_LINE} characters`, () => {
  const files = tsFiles(join(repoRoot, 'actions'));
  expect(files.length).toBeGreaterThan(100);
  expect(files.map((f) => relative(repoRoot, f))).toContain('actions/cnpg-restore-drill/main.ts');
  const over = files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line, i) => ({ line: i + 1, length: [...line].length }))
      .filter((l) => l.length > MAX_LINE)
      .map((l) => `${relative(repoRoot, file)}:${l.line}:${l.length}`),
  );
  expect(over).toEqual([]);
});
