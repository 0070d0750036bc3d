// Small functions (the project's guide: <= 60 lines) stay true in actions/lib: measured by
// scripts/function-length.ts (`npx tsx scripts/function-length.ts` lists the longest).
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { functionLengths, MAX_FUNCTION_LINES } from '../../scripts/function-length.js';
import { repoRoot } from '../helpers/run-action.js';

it(`no function in actions/lib is over ${MAX_FUNCTION_LINES} lines`, () => {
  const all = functionLengths(join(repoRoot, 'actions/lib'));
  expect(all.length).toBeGreaterThan(500);
  const over = all
    .filter((f) => f.lines > MAX_FUNCTION_LINES)
    .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
  expect(over).toEqual([]);
});

it('measures a function from its first line to its last, nested ones inside their parent', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'fn-length-'));
  try {
    writeFileSync(
      join(dir, 'a.ts'),
      'export function outer() {\n  const inner = () => {\n    return 1;\n  };\n  return inner();\n}\nclass K {\n  m(): void {}\n}\n',
    );
    expect(functionLengths(dir).map(({ name, line, lines }) => [name, line, lines])).toEqual([
      ['outer', 1, 6],
      ['inner', 2, 3],
      ['m', 8, 1],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
