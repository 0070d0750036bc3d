// Publishes a release of the suite (called by .github/workflows/release.yml; runnable by hand).
// Usage: tsx .ci/release.ts <X.Y.Z | vX.Y.Z> [--dry-run]
// Refuses, changing nothing, when: the version is not X.Y.Z or differs from package.json; the
// working tree is not clean; the commit is not on the default branch (DEFAULT_BRANCH, else the
// clone's origin/HEAD), as fetched into the origin remote-tracking refs (a tag pushed on a side branch, or a
// dispatch from one, would publish code nobody merged); CHANGELOG.md has no non-empty `## [X.Y.Z]` section; dist/ is not
// what `npm run build` makes from the sources; the tag exists on another commit. Then it tags
// vX.Y.Z, moves the major tag (v1) to it when it is the newest release of that major, pushes the
// tags and creates the GitHub release (gh) with the CHANGELOG section as notes.
// --dry-run does every check and the local tag moves, and prints what it would push and publish.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

class ReleaseError extends Error {}

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const gitOk = (...args: string[]) => {
  try {
    return git(...args);
  } catch {
    return undefined;
  }
};

function parseVersion(arg: string | undefined): string {
  const m = /^v?(\d+\.\d+\.\d+)$/.exec(arg ?? '');
  if (!m) throw new ReleaseError(`version '${arg ?? ''}' is not X.Y.Z (e.g. 1.2.3 or v1.2.3).`);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  if (pkg.version !== m[1])
    throw new ReleaseError(
      `version ${m[1]} differs from package.json's ${pkg.version}; bump package.json (and CHANGELOG.md) first.`,
    );
  return m[1];
}

/** The body of `## [X.Y.Z]` in a Keep a Changelog file, up to the next `## ` heading or link references. */
export function changelogNotes(changelog: string, version: string): string {
  const lines = changelog.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`).test(l));
  if (start < 0)
    throw new ReleaseError(`CHANGELOG.md has no '## [${version}]' section; move the Unreleased entries under it.`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^## /.test(l) || /^\[[^\]]+\]:\s/.test(l));
  const notes = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  if (!notes) throw new ReleaseError(`CHANGELOG.md's '## [${version}]' section is empty.`);
  return notes;
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Rebuilds into a temp dir and compares with the committed dist/ (the tree is clean, so dist/ is HEAD's). */
function checkDistFresh(): void {
  const out = mkdtempSync(join(tmpdir(), 'release-dist-'));
  try {
    execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, '.ci/build.ts'), out], {
      cwd: root,
      stdio: 'pipe',
    });
    const committed = join(root, 'dist');
    const [want, have] = [files(out), files(committed)];
    const stale = [...new Set([...want, ...have])].filter(
      (f) =>
        !want.includes(f) || !have.includes(f) || !readFileSync(join(out, f)).equals(readFileSync(join(committed, f))),
    );
    if (stale.length)
      throw new ReleaseError(
        `dist/ is stale (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}); run npm run build and commit dist/.`,
      );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The default branch: DEFAULT_BRANCH (release.yml passes the repository's), else origin/HEAD of a clone. */
function defaultBranch(): string {
  const fromEnv = process.env.DEFAULT_BRANCH?.trim();
  if (fromEnv) return fromEnv;
  const head = gitOk('symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD');
  if (head) return head.replace(/^origin\//, '');
  throw new ReleaseError('cannot tell the default branch: set DEFAULT_BRANCH (e.g. main).');
}

/** The commit must be reachable from the default branch as fetched from origin. */
function checkOnDefaultBranch(commit: string): void {
  const branch = defaultBranch();
  const ref = `refs/remotes/origin/${branch}`;
  if (!gitOk('rev-parse', '--verify', '--quiet', ref))
    throw new ReleaseError(`origin/${branch} is not fetched; check out with fetch-depth: 0 (every branch).`);
  try {
    git('merge-base', '--is-ancestor', commit, ref);
  } catch {
    throw new ReleaseError(
      `commit ${commit.slice(0, 12)} is not on the default branch ${branch}; merge it first, then tag the merged commit.`,
    );
  }
}

const parts = (v: string) => v.replace(/^v/, '').split('.').map(Number);
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** The newest vX.Y.Z tag of a major, other than `except`. */
function newestOfMajor(major: string, except: string): string | undefined {
  const tags = git('tag', '--list', `v${major}.*.*`)
    .split('\n')
    .filter((t) => /^v\d+\.\d+\.\d+$/.test(t) && t !== `v${except}`);
  return tags.sort(compareVersions).pop();
}

interface ReleasePlan {
  version: string;
  tag: string;
  commit: string;
  majorTag: string;
  /** Where the major tag pointed before (undefined: new), and whether it moves. */
  majorFrom?: string;
  moveMajor: boolean;
  notes: string;
  commands: string[][];
}

function planRelease(versionArg: string | undefined): ReleasePlan {
  const version = parseVersion(versionArg);
  if (git('status', '--porcelain', '--untracked-files=no'))
    throw new ReleaseError('the working tree has uncommitted changes; release from a clean checkout.');
  const notes = changelogNotes(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), version);
  const tag = `v${version}`;
  const commit = git('rev-parse', 'HEAD');
  checkOnDefaultBranch(commit);
  const tagged = gitOk('rev-parse', '--verify', '--quiet', `${tag}^{commit}`);
  if (tagged && tagged !== commit)
    throw new ReleaseError(`tag ${tag} already exists on ${tagged.slice(0, 12)}, not on HEAD ${commit.slice(0, 12)}.`);
  checkDistFresh();
  const major = version.split('.')[0];
  const majorTag = `v${major}`;
  const majorFrom = gitOk('rev-parse', '--verify', '--quiet', `${majorTag}^{commit}`);
  const newest = newestOfMajor(major, version);
  const moveMajor = !newest || compareVersions(version, newest) > 0;
  const commands = [
    ['git', 'push', 'origin', `refs/tags/${tag}`],
    ...(moveMajor ? [['git', 'push', '--force', 'origin', `refs/tags/${majorTag}`]] : []),
    [
      'gh',
      'release',
      'create',
      tag,
      '--verify-tag',
      '--title',
      tag,
      '--notes-file',
      '<notes>',
      ...(moveMajor ? ['--latest'] : ['--latest=false']),
    ],
  ];
  return { version, tag, commit, majorTag, majorFrom, moveMajor, notes, commands };
}

/** Local tags: vX.Y.Z (annotated, unless it exists) and the major tag moved onto it. */
function tagLocally(plan: ReleasePlan): void {
  if (!gitOk('rev-parse', '--verify', '--quiet', `refs/tags/${plan.tag}`))
    git('tag', '-a', plan.tag, '-m', `Release ${plan.tag}`, plan.commit);
  if (plan.moveMajor) git('tag', '-f', '-a', plan.majorTag, '-m', `${plan.majorTag} -> ${plan.tag}`, plan.commit);
}

function publish(plan: ReleasePlan): void {
  const dir = mkdtempSync(join(tmpdir(), 'release-notes-'));
  try {
    const notesFile = join(dir, 'notes.md');
    writeFileSync(notesFile, plan.notes + '\n');
    for (const [cmd, ...args] of plan.commands) {
      execFileSync(
        cmd,
        args.map((a) => (a === '<notes>' ? notesFile : a)),
        { cwd: root, stdio: 'inherit' },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  const dryRun = args.includes('--dry-run');
  try {
    const plan = planRelease(args.find((a) => !a.startsWith('--')));
    tagLocally(plan);
    const major = plan.moveMajor
      ? `${plan.majorTag}: ${plan.majorFrom?.slice(0, 12) ?? '(new)'} -> ${plan.commit.slice(0, 12)}`
      : `${plan.majorTag}: stays (a newer ${plan.majorTag}.x release exists)`;
    console.log(`release ${plan.tag} at ${plan.commit.slice(0, 12)}; ${major}`);
    console.log(`--- notes\n${plan.notes}\n--- end notes`);
    if (dryRun) for (const c of plan.commands) console.log(`dry run, would run: ${c.join(' ')}`);
    else publish(plan);
  } catch (err) {
    if (!(err instanceof ReleaseError)) throw err;
    console.error(`release refused: ${err.message}`);
    process.exit(1);
  }
}
