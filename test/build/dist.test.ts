// dist/ is committed and action.yml points at it: a stale bundle ships old code to users.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-action.js';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('dist/', () => {
  const out = mkdtempSync(join(tmpdir(), 'dist-check-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('is what npm run build produces from the current sources', () => {
    execFileSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, '.ci/build.ts'), out], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
    const committed = join(repoRoot, 'dist');
    expect(files(committed)).toEqual(files(out));
    const stale = files(out).filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(committed, f))));
    expect(stale, 'dist/ is stale: run `npm run build` and commit dist/').toEqual([]);
  });

  it('stays under 10 MB', () => {
    const total = files(join(repoRoot, 'dist')).reduce((n, f) => n + statSync(join(repoRoot, 'dist', f)).size, 0);
    expect(total).toBeLessThan(10 * 1024 * 1024);
  });
});
