// The longest functions under a folder (default actions/lib), measured with the TypeScript
// compiler's parser: every function, method, accessor, constructor and arrow function, from its
// first line to its last, nested functions included in their parent. The project's guide aims at <= 60
// lines; test/unit/function-length.test.ts keeps actions/lib and test/playground there.
// Usage: tsx .ci/function-length.ts [folder] [--most N]
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface FunctionLength {
  file: string;
  name: string;
  line: number;
  lines: number;
}

export const MAX_FUNCTION_LINES = 60;

export function functionLengths(dir: string, root = dir): FunctionLength[] {
  return tsFiles(dir).flatMap((file) => lengthsIn(file, relative(root, file)));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function lengthsIn(path: string, file: string): FunctionLength[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: FunctionLength[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ file, name: nameOf(node, source), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function nameOf(node: ts.SignatureDeclaration, source: ts.SourceFile): string {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText(source);
  return '(anonymous)';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const mostAt = args.indexOf('--most');
  const most = mostAt >= 0 ? Number(args.splice(mostAt, 2)[1]) : 20;
  const dir = args[0] ?? join(fileURLToPath(new URL('..', import.meta.url)), 'actions/lib');
  const all = functionLengths(dir).sort((a, b) => b.lines - a.lines);
  for (const f of all.slice(0, most)) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
  const over = all.filter((f) => f.lines > MAX_FUNCTION_LINES).length;
  console.log(`${all.length} functions; ${over} over ${MAX_FUNCTION_LINES} lines`);
}
