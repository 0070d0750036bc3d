// The drill's pipeline runner and phase order (actions/lib/drill/pipeline.ts): no cluster needed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingCore } from '../helpers/recording-core.js';
import { readDrillInputs } from '../../actions/lib/drill/inputs.js';
import { drillPipeline } from '../../actions/lib/drill/phases/index.js';
import { settleVerdict } from '../../actions/lib/drill/phases/verdict.phase.js';
import type { ResolvedTarget } from '../../actions/lib/drill/targets.js';
import {
  Cancelled,
  definePhase,
  given,
  isSkipped,
  orderProblems,
  runPipeline,
  type AnyPhase,
  type Pipeline,
} from '../../actions/lib/drill/pipeline.js';
import { createContext } from '../../actions/lib/drill/run.js';
import { VerdictError } from '../../actions/lib/errors.js';
import type { KubeClients } from '../../actions/lib/kube/client.js';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import { repoRoot } from '../helpers/run-action.js';

function context(controller = new AbortController()) {
  const { core, rec } = recordingCore({ cluster: 'pg-main', namespace: 'db' });
  const inputs = readDrillInputs(core);
  // The phases below are synthetic: they never touch the clients.
  const ctx = createContext({
    core,
    inputs,
    clients: {} as KubeClients,
    signal: controller.signal,
    env: {},
    kubeconfig: '',
  });
  return { ctx, rec, controller };
}

const live = { metadata: { name: 'pg-main', namespace: 'db' }, spec: {} } as unknown as Cluster;
const ran: string[] = [];
const step = (name: string, extra: Partial<AnyPhase> = {}): AnyPhase => ({
  name,
  needs: [],
  gives: [],
  run: async () => void ran.push(name),
  ...extra,
});
const finals = ['close', 'teardown', 'record'].map((n) => step(n));

describe('the drill pipeline', () => {
  it('is in order: every phase needs only what an earlier one gives; final phases need nothing', () => {
    expect(orderProblems(drillPipeline)).toEqual([]);
    const names = [...drillPipeline.preflight, ...drillPipeline.main, ...drillPipeline.final].map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(drillPipeline.final.map((p) => p.name)).toEqual([
      'close-sessions',
      'teardown',
      'verdict',
      'record',
      'notify',
      'metrics',
      'outputs',
      'report',
      'step-status',
    ]);
  });

  it('names a phase whose need no earlier phase gives', () => {
    const bad: Pipeline = {
      preflight: [],
      main: [drillPipeline.main.find((p) => p.name === 'compare')!],
      final: [step('x', { needs: ['live'] })],
    };
    expect(orderProblems(bad)).toEqual([
      "compare needs 'recoveryName', which no earlier phase gives",
      "compare needs 'baselines', which no earlier phase gives",
      "compare needs 'created', which no earlier phase gives",
      "compare needs 'pin', which no earlier phase gives",
      "compare needs 'live', which no earlier phase gives",
      'final phase x must read ctx.facts, not declare needs',
    ]);
  });
});

const phasesDir = join(repoRoot, 'actions/lib/drill/phases');
const phaseFiles = readdirSync(phasesDir).filter((f) => f !== 'index.ts');

describe('the phase files', () => {
  it('are named <name>.phase.ts, so a phase is never mistaken for the logic module one folder up', () => {
    expect(phaseFiles.filter((f) => !f.endsWith('.phase.ts'))).toEqual([]);
  });

  it('import no other phase: phases talk through facts, shared logic lives one folder up', () => {
    const crossing = phaseFiles.flatMap((f) =>
      [...readFileSync(join(phasesDir, f), 'utf8').matchAll(/from '(\.\/[^']+)'/g)].map((m) => `${f} -> ${m[1]}`),
    );
    expect(crossing).toEqual([]);
  });
});

describe('result.target', () => {
  it('is written by one phase (verdict), assembled from the facts target, pin and stop', async () => {
    const writers = phaseFiles.filter((f) =>
      /result\.target\b|result: \{[^}]*\btarget\b/.test(readFileSync(join(phasesDir, f), 'utf8')),
    );
    expect(writers).toEqual(['verdict.phase.ts']);
    const { ctx } = context();
    ctx.facts.target = { kind: 'lsn', describe: 'LSN 0/3000000', seed: undefined } as unknown as ResolvedTarget;
    ctx.facts.pin = { recoveryTarget: { targetLSN: '0/3000000' }, exact: false, judging: 'reported' };
    ctx.facts.stop = { skipped: 'the recovery replays to the end of the archive' };
    await runPipeline(ctx, { preflight: [], main: [], final: [settleVerdict] });
    expect(ctx.result.target).toEqual({
      kind: 'lsn',
      describe: 'LSN 0/3000000',
      judged: ctx.inputs.judgeCounts,
      judging: 'reported',
      lsn: '0/3000000',
    });
    ctx.facts.stop = { ok: true, unchecked: [], lines: ['recovery stopped at 0/3000000'] };
    await runPipeline(ctx, { preflight: [], main: [], final: [settleVerdict] });
    expect(ctx.result.target?.stop).toEqual({ ok: true, lines: ['recovery stopped at 0/3000000'] });
  });
});

describe('runPipeline', () => {
  it('hands each phase the facts it needs, typed, and times titled phases', async () => {
    ran.length = 0;
    const { ctx } = context();
    const give = definePhase({
      name: 'give',
      title: 'give the live cluster',
      needs: [],
      gives: ['live'],
      run: async () => ({ live }),
    });
    let seen: Cluster | undefined;
    const take = definePhase({
      name: 'take',
      needs: ['live'],
      gives: [],
      run: async (_ctx, input) => void (seen = input.live),
    });
    expect(await runPipeline(ctx, { preflight: [give], main: [take], final: finals })).toBe(true);
    expect(seen).toBe(live);
    expect(ctx.result.phases.map((p) => p.phase)).toEqual(['give the live cluster']);
    expect(ran).toEqual(['close', 'teardown', 'record']);
  });

  it('a preflight failure is a usage error: one message, nothing else runs', async () => {
    ran.length = 0;
    const { ctx, rec } = context();
    const fail = step('find', { run: async () => Promise.reject(new Error("Input 'cluster': no CNPG Cluster")) });
    expect(await runPipeline(ctx, { preflight: [fail], main: [step('main')], final: finals })).toBe(false);
    expect(rec.failed).toBe("Input 'cluster': no CNPG Cluster");
    expect(ran).toEqual([]);
  });

  it('the first failure stops the main stage; its reasons are the verdict; every final phase runs, even after one throws', async () => {
    ran.length = 0;
    const { ctx, rec } = context();
    const fail = step('inventory', {
      title: 'backup inventory',
      run: async () => Promise.reject(new VerdictError(['no backup', 'archiving failing'])),
    });
    const broken = step('teardown', { run: async () => Promise.reject(new Error('boom')) });
    await runPipeline(ctx, {
      preflight: [],
      main: [step('a'), fail, step('b')],
      final: [finals[0], broken, finals[2]],
    });
    expect(ran).toEqual(['a', 'close', 'record']);
    expect(ctx.result.reasons).toEqual(['no backup', 'archiving failing']);
    // A failed titled phase is still timed.
    expect(ctx.result.phases.map((p) => p.phase)).toEqual(['backup inventory']);
    expect(rec.logs).toContainEqual({ level: 'warning', message: 'teardown: boom' });
  });

  it('a phase that does not apply is skipped and gives why, typed; a phase must give what it declares', async () => {
    ran.length = 0;
    const { ctx } = context();
    const skipped = definePhase({
      name: 'restore-point',
      when: () => 'restore-point is false',
      needs: [],
      gives: ['restorePoint'],
      run: async () => {
        throw new Error('ran');
      },
    });
    let seen: unknown = 'unset';
    let absent: unknown = 'unset';
    const reads = definePhase({
      name: 'reads',
      needs: ['restorePoint'],
      gives: [],
      run: async (_c, i) => {
        seen = i.restorePoint;
        absent = given(i.restorePoint);
      },
    });
    const liar = step('liar', { gives: ['live'], run: async () => ({}) });
    await runPipeline(ctx, { preflight: [], main: [skipped, reads, liar], final: [] });
    expect(seen).toEqual({ skipped: 'restore-point is false' });
    expect(isSkipped(seen)).toBe(true);
    expect(absent).toBeUndefined();
    // The drill's own contract broken: an error (the drill could not judge), never a reason against the backup.
    expect(ctx.result.reasons).toEqual([]);
    expect(ctx.result.error).toMatchObject({ kind: 'environment', message: "phase liar did not give 'live'" });
  });

  it('lets only a phase whose facts admit Skipped be skipped (a type error otherwise)', () => {
    const phase = definePhase({
      name: 'find-live',
      needs: [],
      gives: ['live'],
      // @ts-expect-error: live is a Cluster, never Skipped, so find-live may not be skipped.
      when: () => true,
      run: async () => ({ live }),
    });
    expect(phase.name).toBe('find-live');
  });

  it('hands `when` its declared needs and the environment, never undeclared facts or the result', async () => {
    const { ctx } = context();
    const give = definePhase({
      name: 'give',
      needs: [],
      gives: ['live', 'databases'],
      run: async () => ({ live, databases: ['app'] }),
    });
    let seen: { input: string[]; env: string[] } | undefined;
    const decides = definePhase({
      name: 'decides',
      needs: ['live'],
      gives: [],
      when: (env, input) => {
        seen = { input: Object.keys(input), env: Object.keys(env) };
        // @ts-expect-error: databases is given, but not declared.
        return (input.live === live && input.databases === undefined) || 'not as declared';
      },
      run: async () => void ran.push('decides'),
    });
    ran.length = 0;
    await runPipeline(ctx, { preflight: [give], main: [decides], final: [] });
    expect(ran).toEqual(['decides']);
    expect(seen!.input).toEqual(['live']);
    expect(seen!.env).toContain('inputs');
    expect(seen!.env).not.toContain('facts');
    expect(seen!.env).not.toContain('result');
  });

  it('refuses to ask `when` before its needs are given', async () => {
    const { ctx } = context();
    let asked = false;
    const decides = definePhase({
      name: 'decides',
      needs: ['live'],
      gives: [],
      when: () => (asked = true),
      run: async () => undefined,
    });
    await runPipeline(ctx, { preflight: [], main: [decides], final: [] });
    expect(asked).toBe(false);
    expect(ctx.result.error?.message).toBe("phase decides needs 'live', which no earlier phase gave");
  });

  it('a cancellation abandons the running phase at once and goes to the final phases', async () => {
    ran.length = 0;
    const { ctx, controller } = context();
    const hangs = step('wait', { run: () => new Promise(() => {}) });
    setTimeout(() => controller.abort(new Cancelled('SIGTERM')), 20);
    await runPipeline(ctx, { preflight: [], main: [hangs, step('after')], final: finals });
    expect(ran).toEqual(['close', 'teardown', 'record']);
    expect(ctx.cancelledAt).toBeGreaterThan(0);
    expect(ctx.result.reasons).toEqual([]);
    expect(ctx.result.error).toMatchObject({
      kind: 'cancelled',
      message: 'cancelled (SIGTERM): the drill stopped and tore down what it created',
    });
  });
});
