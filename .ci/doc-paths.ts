// Paths that Markdown files and code comments name but the repository does not hold (a renamed folder,
// a removed action, a guide that was never written). test/unit/doc-paths.test.ts keeps the list empty.
// Usage: tsx .ci/doc-paths.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface DocPath {
  file: string;
  line: number;
  path: string;
}

// History names paths that were true then; fixtures are upstream's files; dist/ is generated.
const SKIP_FILES = [/^CHANGELOG\.md$/, /^dist\//, /^test\/fixtures\//];
const COMMENTED = /\.(ts|js|sh|ya?ml)$/;
// Only this repository's kinds of files count as paths: `validation.go` or `pkg/specs/jobs.go` is upstream.
const OURS = /\.(ts|js|md|sh|ya?ml|json|tpl)$/;
// Made at run time or by .ci/setup.sh, ignored by git.
const GENERATED = ['.tools', '.playground', '.build', 'node_modules', 'coverage'];
// Upstream's paths and examples of a user's repository, named in prose without a tag.
export const NOT_OURS = [
  'templates/crds/crds.yaml', // the cloudnative-pg chart's templated CRDs
  'docs/src/', // cloudnative-pg's documentation
  'infra/helm/', // a user's repository in README's platform-install example
  // A user's copies of workflows/, called from their repository.
  '.github/workflows/platform-install.yml',
  '.github/workflows/soak-gate.yml',
  'drill-report.json', // the report a README reader asks the CLI to write (--report)
];

/** Every path-like token of one text, with its line; upstream cites (`file@tag`), URLs and globs excluded. */
export function pathTokens(text: string): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  const token = /[A-Za-z0-9_.\-/]+/g;
  for (const m of text.matchAll(token)) {
    const [raw] = m;
    const at = m.index;
    const before = text.slice(Math.max(0, at - 3), at);
    const after = text.slice(at + raw.length, at + raw.length + 2);
    // `file@tag` and `file`@tag cite upstream; `x/...` elides; `<area>/`, `*`, `${}` are patterns.
    if (/^`?@|^[:*{<$]/.test(after) || /[*{<$@:~]$/.test(before) || raw.endsWith('/...')) continue;
    const path = raw.replace(/[.]+$/, '').replace(/^\.\//, '');
    if (!looksLikePath(path)) continue;
    out.push({ path, line: text.slice(0, at).split('\n').length });
  }
  return out;
}

function looksLikePath(path: string): boolean {
  if (path.startsWith('/') || path.startsWith('..') || path.includes('//') || path === 'Node.js') return false;
  if (path.startsWith('.') && !path.includes('/')) return false; // a suffix (`.test.ts`), not a file
  if (NOT_OURS.some((n) => path === n || path.startsWith(n))) return false;
  const first = path.split('/')[0];
  // A first segment with an inner dot is a host or an API group (k8s.io/..., postgresql.cnpg.io/v1).
  if (path.includes('/') && /^[^.].*\.[a-z]/.test(first) && !OURS.test(first)) return false;
  if (OURS.test(path)) return /[a-z]/i.test(path.replace(OURS, ''));
  // A folder: `name/` (a lowercase word, then a slash, as the maps write folders).
  return /^[a-z][a-z0-9_-]*(\/[a-z][a-z0-9_-]*)*\/$/.test(path);
}

/** The comments of a TypeScript/JavaScript source, each with the line it starts on. */
export function tsComments(source: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, source);
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) {
      out.push({ text: scanner.getTokenText(), line: source.slice(0, scanner.getTokenStart()).split('\n').length });
    }
    // Template literals and regular expressions need the parser's context; rescanning keeps comments real.
    if (kind === ts.SyntaxKind.CloseBraceToken) scanner.reScanTemplateToken(false);
    if (kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) scanner.reScanSlashToken();
  }
  return out;
}

function hashComments(source: string): { text: string; line: number }[] {
  return source
    .split('\n')
    .map((l, i) => ({ text: /(^|\s)#(.*)$/.exec(l)?.[2] ?? '', line: i + 1 }))
    .filter((c) => c.text);
}

/** A Markdown text with the cells of every table column headed "upstream ..." blanked (they cite upstream). */
export function withoutUpstreamColumns(markdown: string): string {
  let upstream: number[] = [];
  return markdown
    .split('\n')
    .map((line) => {
      if (!line.startsWith('|')) {
        upstream = [];
        return line;
      }
      const cells = line.split('|');
      if (upstream.length === 0 && cells.some((c) => /^\s*upstream\b/i.test(c)))
        upstream = cells.flatMap((c, i) => (/^\s*upstream\b/i.test(c) ? [i] : []));
      return cells.map((c, i) => (upstream.includes(i) ? ' '.repeat(c.length) : c)).join('|');
    })
    .join('\n');
}

function textsOf(file: string, source: string): { text: string; line: number }[] {
  if (file.endsWith('.md')) return [{ text: withoutUpstreamColumns(source), line: 1 }];
  return /\.(ts|js)$/.test(file) ? tsComments(source) : hashComments(source);
}

/** Whether `path`, named in `file`, is held: from the root, the file's folder or an ancestor, or as a suffix. */
function resolver(files: string[]): (file: string, path: string) => boolean {
  const held = new Set(files);
  for (const f of files) for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) held.add(`${d}/`);
  const suffixes = [...held];
  return (file, path) => {
    if (GENERATED.some((g) => path === g || path.startsWith(`${g}/`))) return true;
    for (let d = posix.dirname(file); ; d = posix.dirname(d)) {
      const full = d === '.' ? path : `${d}/${path}`;
      if (held.has(full) || held.has(`${full}/`)) return true;
      if (d === '.') break;
    }
    // Named by its tail from a context the text gives (`drill/pipeline.ts` in test/drill).
    return suffixes.some((h) => h.endsWith(`/${path}`) || h.endsWith(`/${path}/`));
  };
}

export function missingDocPaths(root: string): DocPath[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root })
    .toString()
    .split('\n')
    .filter(Boolean);
  const holds = resolver(files);
  const out: DocPath[] = [];
  for (const file of files) {
    if (SKIP_FILES.some((r) => r.test(file)) || !(file.endsWith('.md') || COMMENTED.test(file))) continue;
    let source: string;
    try {
      source = readFileSync(join(root, file), 'utf8');
    } catch {
      continue; // deleted in the work tree, not yet in the index
    }
    for (const { text, line } of textsOf(file, source))
      for (const t of pathTokens(text))
        if (!holds(file, t.path)) out.push({ file, line: line + t.line - 1, path: t.path });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  for (const m of missingDocPaths(root)) console.log(`${m.file}:${m.line}  ${m.path}`);
}
