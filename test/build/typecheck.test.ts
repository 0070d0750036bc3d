// The whole project (actions, tests, playground, scripts) type-checks under the strict tsconfig,
// unused locals and parameters included: ncc only checks what the bundle imports.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-action.js';

it('tsc --noEmit reports nothing', () => {
  let output = '';
  try {
    execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['--noEmit', '-p', repoRoot], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (err) {
    output = (err as { stdout: string }).stdout;
  }
  expect(output.split('\n').filter(Boolean)).toEqual([]);
}, 180_000);
