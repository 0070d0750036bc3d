// The release script (.ci/release.ts, run by .github/workflows/release.yml) in --dry-run
// mode against a temporary clone of this repository: nothing is pushed (the clone's origin, this
// repository, gains no tag), the notes are the CHANGELOG section, the major tag moves, and it
// refuses a stale dist/, a CHANGELOG without the version, a version package.json does not carry.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changelogNotes, compareVersions } from '../../.ci/release.js';
import { repoRoot } from '../helpers/run-action.js';

describe('CHANGELOG.md', () => {
  const changelog = readFileSync(join(repoRoot, 'CHANGELOG.md'), 'utf8');
  it('keeps an Unreleased section and a 1.0.0 entry, whose notes stop at the next heading', () => {
    expect(changelog).toMatch(/^## \[Unreleased\]$/m);
    const notes = changelogNotes(changelog, '1.0.0');
    expect(notes).toMatch(/^The first release/);
    expect(notes).toContain('### Added');
    expect(notes).not.toMatch(/^## |^\[1\.0\.0\]:/m);
  });
  it('orders versions numerically', () => {
    expect(['v1.10.0', 'v1.2.0', 'v1.9.3'].sort(compareVersions)).toEqual(['v1.2.0', 'v1.9.3', 'v1.10.0']);
  });
});

describe('.ci/release.ts --dry-run in a temporary clone', () => {
  let clone: string;
  let work: string;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: clone, encoding: 'utf8' }).trim();
  const release = (...args: string[]) =>
    spawnSync(join(clone, 'node_modules/.bin/tsx'), [join(clone, '.ci/release.ts'), ...args], {
      cwd: clone,
      encoding: 'utf8',
      timeout: 540_000, // the dist/ rebuild inside takes minutes on a loaded machine
    });
  const setVersion = (v: string, changelogEntry?: string, merged = true) => {
    const pkg = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8'));
    writeFileSync(join(clone, 'package.json'), JSON.stringify({ ...pkg, version: v }, null, 2) + '\n');
    if (changelogEntry) {
      // The entry stands for everything in this release: whatever the tree has under Unreleased is left out.
      const c = readFileSync(join(clone, 'CHANGELOG.md'), 'utf8');
      const start = c.indexOf('## [Unreleased]\n');
      const next = c.indexOf('\n## [', start + 1) + 1;
      writeFileSync(
        join(clone, 'CHANGELOG.md'),
        c.slice(0, start) + `## [Unreleased]\n\n## [${v}] - 2026-12-01\n\n${changelogEntry}\n\n` + c.slice(next),
      );
    }
    git('commit', '-qam', `Release ${v}`);
    if (merged) git('push', '-q', 'origin', 'HEAD:main');
  };
  const originTags = () => execFileSync('git', ['tag', '--list', 'v*'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  let tagsBefore: string;

  beforeAll(() => {
    tagsBefore = originTags();
    // origin: a bare copy whose default branch is main (this repository is never pushed to).
    work = mkdtempSync(join(tmpdir(), 'release-test-'));
    const origin = join(work, 'origin.git');
    clone = join(work, 'clone');
    execFileSync('git', ['clone', '-q', '--bare', repoRoot, origin]);
    execFileSync('git', ['branch', '-f', 'main', 'HEAD'], { cwd: origin });
    execFileSync('git', ['symbolic-ref', 'HEAD', 'refs/heads/main'], { cwd: origin });
    execFileSync('git', ['clone', '-q', origin, clone]);
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'));
    git('config', 'user.name', 'Release Test');
    git('config', 'user.email', 'release-test@example.invalid');
    // Helpers' branches leave dist/ to the integrator: commit a fresh one, as main has.
    execFileSync(join(clone, 'node_modules/.bin/tsx'), [join(clone, '.ci/build.ts')], {
      cwd: clone,
      stdio: 'pipe',
    });
    git('add', '-A', 'dist');
    git('commit', '-qm', 'dist', '--allow-empty');
    git('push', '-q', 'origin', 'HEAD:main');
    // An earlier release: v1.0.0 and the major tag on this commit.
    git('tag', '-a', 'v1.0.0', '-m', 'Release v1.0.0');
    git('tag', '-a', 'v1', '-m', 'v1 -> v1.0.0');
  }, 600_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    expect(originTags(), 'the dry run pushed nothing to origin').toBe(tagsBefore);
  });

  it('releases 1.0.1: notes from CHANGELOG.md, v1.0.1 tagged, v1 moved onto it, pushes and gh only printed', () => {
    const v100 = git('rev-parse', 'v1.0.0^{commit}');
    setVersion('1.0.1', '### Fixed\n- The drill names the environment in its Slack message.');
    const r = release('v1.0.1', '--dry-run');
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const head = git('rev-parse', 'HEAD');
    expect(r.stdout).toContain(
      `release v1.0.1 at ${head.slice(0, 12)}; v1: ${v100.slice(0, 12)} -> ${head.slice(0, 12)}`,
    );
    expect(r.stdout).toContain(
      '--- notes\n### Fixed\n- The drill names the environment in its Slack message.\n--- end notes',
    );
    expect(git('rev-parse', 'v1.0.1^{commit}')).toBe(head);
    expect(git('rev-parse', 'v1^{commit}')).toBe(head);
    expect(git('rev-parse', 'v1.0.0^{commit}')).toBe(v100);
    expect(r.stdout).toContain('dry run, would run: git push origin refs/tags/v1.0.1');
    expect(r.stdout).toContain('dry run, would run: git push --force origin refs/tags/v1');
    expect(r.stdout).toContain(
      'dry run, would run: gh release create v1.0.1 --verify-tag --title v1.0.1 --notes-file <notes> --latest',
    );
    expect(originTags()).toBe(tagsBefore);
  }, 600_000);

  it('refuses a version CHANGELOG.md lacks, and one package.json does not carry, before tagging anything', () => {
    setVersion('1.0.2');
    const r = release('1.0.2', '--dry-run');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      "release refused: CHANGELOG.md has no '## [1.0.2]' section; move the Unreleased entries under it.",
    );
    const m = release('1.0.3', '--dry-run');
    expect(m.status).toBe(1);
    expect(m.stderr.trim()).toBe(
      "release refused: version 1.0.3 differs from package.json's 1.0.2; bump package.json (and CHANGELOG.md) first.",
    );
    expect(git('tag', '--list', 'v1.0.2', 'v1.0.3')).toBe('');
  });

  it('refuses a stale dist/ (a source changed without npm run build), leaving the tags alone', () => {
    const v1 = git('rev-parse', 'v1^{commit}');
    const file = join(clone, 'actions/lib/report/format.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("return 'n/a';", "return 'unknown';"));
    setVersion('1.0.4', '### Changed\n- Unknown durations read "unknown".');
    const r = release('1.0.4', '--dry-run');
    expect(r.status, r.stdout).toBe(1);
    expect(r.stderr).toMatch(
      /^release refused: dist\/ is stale \(suite\/[\w.]+\.js.*\); run npm run build and commit dist\/\./,
    );
    expect(git('tag', '--list', 'v1.0.4')).toBe('');
    expect(git('rev-parse', 'v1^{commit}')).toBe(v1);
  }, 600_000);

  it('refuses a tag on a commit that is not on the default branch, naming it, and tags nothing', () => {
    git('checkout', '-qb', 'side');
    try {
      setVersion('1.0.5', '### Fixed\n- Something nobody merged.', false);
      const head = git('rev-parse', 'HEAD');
      const r = release('v1.0.5', '--dry-run');
      expect(r.status, r.stdout).toBe(1);
      expect(r.stderr.trim()).toBe(
        `release refused: commit ${head.slice(0, 12)} is not on the default branch main; merge it first, then tag the merged commit.`,
      );
      expect(git('tag', '--list', 'v1.0.5')).toBe('');
    } finally {
      git('checkout', '-qf', 'main');
    }
  });

  it('refuses a dirty working tree', () => {
    writeFileSync(join(clone, 'README.md'), 'edited\n', { flag: 'a' });
    const r = release('1.0.4', '--dry-run');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'release refused: the working tree has uncommitted changes; release from a clean checkout.',
    );
  });
});
