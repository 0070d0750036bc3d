// Docs that are true: every repository path a Markdown file or a comment names exists
// (.ci/doc-paths.ts), and the map of the house lists exactly the actions there are.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingDocPaths, pathTokens, tsComments, withoutUpstreamColumns } from '../../.ci/doc-paths.js';
import { repoRoot } from '../helpers/run-action.js';

describe('paths named in docs and comments', () => {
  it('every one exists in the repository', () => {
    expect(missingDocPaths(repoRoot).map((m) => `${m.file}:${m.line} ${m.path}`)).toEqual([]);
  });

  it('actions/lib/README.md lists exactly the actions under actions/', () => {
    const map = readFileSync(join(repoRoot, 'actions/lib/README.md'), 'utf8');
    const table = map.slice(map.indexOf('| Action |'), map.indexOf('## `actions/lib` by concern'));
    const listed = [...table.matchAll(/^\| `([\w-]+)` \|/gm)].map((m) => m[1]).sort();
    const actions = readdirSync(join(repoRoot, 'actions'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'lib')
      .map((e) => e.name)
      .sort();
    expect(listed).toEqual(actions);
  });
});

describe('what counts as a path', () => {
  const paths = (text: string) => pathTokens(text).map((t) => t.path);

  it('finds files and folders, with their line', () => {
    expect(pathTokens('see `operator/` and\n.ci/GUIDE.md or GUIDE.md.')).toEqual([
      { path: 'operator/', line: 1 },
      { path: '.ci/GUIDE.md', line: 2 },
      { path: 'GUIDE.md', line: 2 },
    ]);
  });

  it('skips URLs, upstream cites with a tag, globs, patterns, elisions, hosts and other kinds of files', () => {
    const text = [
      'https://cloudnative-pg.io/docs/x.md pkg/specs/jobs.go@v1.27.0 `src/portforward.ts`@1.4.0',
      'test/**/*.test.ts test/<area>/<file>.test.ts ${dir}/env.ts svc/... k8s.io/api/ postgresql.cnpg.io/v1',
      'Node.js and/or `.test.ts` internal/cmd/manager/walarchive/cmd.go',
    ].join('\n');
    expect(paths(text)).toEqual([]);
  });

  it('blanks the upstream column of a Markdown table, not the others', () => {
    const md =
      '| behaviour | upstream file@tag | proven by |\n| --- | --- | --- |\n| x | src/util.ts | a/b.test.ts |\n';
    expect(paths(withoutUpstreamColumns(md))).toEqual(['a/b.test.ts']);
  });

  it('reads comments only, not code or strings', () => {
    const source =
      "// see a/one.ts\nconst s = '// b/two.ts';\nconst r = /x\\/y/;\n/* c/three.ts */ const t = `${s}// d/four.ts`;\n";
    expect(tsComments(source).flatMap((c) => paths(c.text))).toEqual(['a/one.ts', 'c/three.ts']);
  });
});
