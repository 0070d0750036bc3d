// The layout the project's users designed: at the top level only package.json, tsconfig.json,
// README.md, LICENSE, CHANGELOG.md, config files and dotfiles, and the folders actions/, workflows/,
// dist/ and test/ (tooling lives in .ci/, the image's Dockerfile beside its chart in workflows/helm/).
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-action.js';

const FOLDERS = ['actions', 'dist', 'test', 'workflows'];

it('the top level holds only the four folders of the layout besides dotfolders', () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).split('\n');
  const folders = new Set(tracked.filter((f) => f.includes('/')).map((f) => f.split('/')[0]));
  expect([...folders].filter((f) => !f.startsWith('.')).sort()).toEqual(FOLDERS);
  const files = tracked.filter((f) => f && !f.includes('/') && !f.startsWith('.'));
  expect(
    files.filter(
      (f) => !/^(README\.md|LICENSE|CHANGELOG\.md|package(-lock)?\.json|tsconfig\.json|[\w-]+\.config\.[jt]s)$/.test(f),
    ),
  ).toEqual([]);
});
