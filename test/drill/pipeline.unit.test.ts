// The drill's pipeline runner and phase order (actions/lib/drill/pipeline.ts): no cluster needed.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingCore } from '../helpers/recording-core.js';
import { readDrillInputs } from '../../actions/lib/drill/inputs.js';
import { drillPipeline } from '../../actions/lib/drill/phases/index.js';
import { settleVerdict } from '../../actions/lib/drill/phases/verdict.phase.js';
import { baseline } from '../../actions/lib/drill/phases/baseline.phase.js';
import { ReadOnlyDb } from '../../actions/lib/postgres/readonly.js';
import type { ResolvedTarget } from '../../actions/lib/drill/targets.js';
import {
  Cancelled,
  definePhase,
  given,
  isSkipped,
  orderProblems,
  runPipeline,
  type AnyPhase,
  type InputName,
  type PhaseContext,
  type Pipeline,
} from '../../actions/lib/drill/pipeline.js';
import type { Inventory } from '../../actions/lib/drill/inventory.js';

type Ctx = PhaseContext<InputName>;
import { createContext } from '../../actions/lib/drill/run.js';
import { drillResult } from '../../actions/lib/drill/result.js';
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
  reads: [],
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
      "compare needs 'timeoutMs', which no earlier phase gives",
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
  it('is made by one phase (verdict), assembled from the facts target, pin and stop', async () => {
    const makers = phaseFiles.filter((f) => /targetReport\(/.test(readFileSync(join(phasesDir, f), 'utf8')));
    expect(makers).toEqual(['verdict.phase.ts']);
    const { ctx } = context();
    ctx.facts.target = { kind: 'lsn', describe: 'LSN 0/3000000', seed: undefined } as unknown as ResolvedTarget;
    ctx.facts.pin = { recoveryTarget: { targetLSN: '0/3000000' }, exact: false, judging: 'reported' };
    ctx.facts.stop = { skipped: 'the recovery replays to the end of the archive' };
    await runPipeline(ctx, { preflight: [], main: [], final: [settleVerdict] });
    expect(drillResult(ctx).target).toEqual({
      kind: 'lsn',
      describe: 'LSN 0/3000000',
      judged: ctx.inputs.judgeCounts,
      judging: 'reported',
      lsn: '0/3000000',
    });
    delete ctx.facts.verdict;
    ctx.facts.stop = { ok: true, unchecked: [], lines: ['recovery stopped at 0/3000000'] };
    await runPipeline(ctx, { preflight: [], main: [], final: [settleVerdict] });
    expect(drillResult(ctx).target?.stop).toEqual({ ok: true, lines: ['recovery stopped at 0/3000000'] });
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
      reads: [],
      run: async () => ({ live }),
    });
    let seen: Cluster | undefined;
    const take = definePhase({
      name: 'take',
      needs: ['live'],
      gives: [],
      reads: [],
      run: async (_ctx, input) => void (seen = input.live),
    });
    expect(await runPipeline(ctx, { preflight: [give], main: [take], final: finals })).toBe(true);
    expect(seen).toBe(live);
    expect(drillResult(ctx).phases.map((p) => p.phase)).toEqual(['give the live cluster']);
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
    expect(drillResult(ctx).reasons).toEqual(['no backup', 'archiving failing']);
    // A failed titled phase is still timed.
    expect(drillResult(ctx).phases.map((p) => p.phase)).toEqual(['backup inventory']);
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
      reads: [],
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
      reads: [],
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
    expect(drillResult(ctx).reasons).toEqual([]);
    expect(drillResult(ctx).error).toMatchObject({ kind: 'environment', message: "phase liar did not give 'live'" });
  });

  it('lets only a phase whose facts admit Skipped be skipped (a type error otherwise)', () => {
    const phase = definePhase({
      name: 'find-live',
      needs: [],
      gives: ['live'],
      reads: [],
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
      reads: [],
      run: async () => ({ live, databases: ['app'] }),
    });
    let seen: { input: string[]; env: string[] } | undefined;
    const decides = definePhase({
      name: 'decides',
      needs: ['live'],
      gives: [],
      reads: [],
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
      reads: [],
      when: () => (asked = true),
      run: async () => undefined,
    });
    await runPipeline(ctx, { preflight: [], main: [decides], final: [] });
    expect(asked).toBe(false);
    expect(drillResult(ctx).error?.message).toBe("phase decides needs 'live', which no earlier phase gave");
  });

  it('a cancellation abandons the running phase at once and goes to the final phases', async () => {
    ran.length = 0;
    const { ctx, controller } = context();
    const hangs = step('wait', { run: () => new Promise(() => {}) });
    setTimeout(() => controller.abort(new Cancelled('SIGTERM')), 20);
    await runPipeline(ctx, { preflight: [], main: [hangs, step('after')], final: finals });
    expect(ran).toEqual(['close', 'teardown', 'record']);
    expect(ctx.cancelledAt).toBeGreaterThan(0);
    expect(drillResult(ctx).reasons).toEqual([]);
    expect(drillResult(ctx).error).toMatchObject({
      kind: 'cancelled',
      message: 'cancelled (SIGTERM): the drill stopped and tore down what it created',
    });
  });
});

describe('a cancellation keeps what the abandoned phase found', () => {
  it('the final phases see every fact it gave up to the abort; what it gives after reaches nothing', async () => {
    const { ctx, controller } = context();
    let release!: () => void;
    let ended!: Promise<unknown>;
    const compares = step('compare', {
      gives: ['sweepNotes'],
      run: (c: never) =>
        (ended = (async ({ give }: PhaseContext<never, 'sweepNotes'>) => {
          give({ sweepNotes: ['db1 compared'] });
          setTimeout(() => controller.abort(new Cancelled('SIGTERM')), 10);
          // A query that does not notice the abort: it ends when its pool is closed, after the report.
          await new Promise<void>((r) => (release = r));
          give({ sweepNotes: ['db1 compared', 'db2 compared'] });
          return { sweepNotes: ['db1 compared', 'db2 compared'] };
        })(c)),
    });
    let reported: string[] = [];
    const report = step('report', {
      run: async (c: never) => {
        reported = drillResult(c as Ctx).notes;
        release();
      },
    });
    await runPipeline(ctx, { preflight: [], main: [compares], final: [report] });
    await ended;
    expect(reported).toEqual(['db1 compared']);
    // The JSON report, written after the pipeline (run.ts), says what the summary said.
    expect(drillResult(ctx).notes).toEqual(reported);
  });

  it('baseline: how live is counted reaches the final phases when a count that hangs is abandoned', async () => {
    // A server that accepts and never answers: the count hangs as a query blind to the abort does.
    const sockets = new Set<Socket>();
    const server = createServer((s) => void sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const db = new ReadOnlyDb(
      { host: '127.0.0.1', port, user: 'drill', password: 'x', database: 'app', ssl: false },
      { statementTimeoutMs: 60_000 },
    );
    const { ctx, controller } = context();
    ctx.facts.live = live;
    ctx.facts.liveSessions = [{ database: 'app', db, conn: {} as never }];
    ctx.facts.target = { kind: 'lsn', recoveryTarget: { targetLSN: '0/3000000' } } as unknown as ResolvedTarget;
    let seen: unknown;
    const report = step('report', { run: async (c: never) => void (seen = drillResult(c as Ctx).counting) });
    setTimeout(() => controller.abort(new Cancelled('SIGTERM')), 50);
    try {
      await runPipeline(ctx, { preflight: [], main: [baseline], final: [report] });
    } finally {
      for (const s of sockets) s.destroy();
      await db.close();
      server.close();
    }
    const { liveCounts, liveExactMaxBytes, verify } = ctx.inputs;
    expect(seen).toEqual({ live: liveCounts, liveExactMaxBytes, verify });
    expect(drillResult(ctx).error?.kind).toBe('cancelled');
  });
});

describe('what a phase touches: its declared facts and inputs, never the result', () => {
  it('no drill phase writes the result: each gives its findings as facts, the result is assembled from them', () => {
    const writes = /\bresult\.\w+(\s*(=(?!=)|\?\?=)|\.push\()/;
    expect(phaseFiles.filter((f) => writes.test(readFileSync(join(phasesDir, f), 'utf8')))).toEqual([]);
  });

  it('hands a phase no result and the facts read-only', async () => {
    const { ctx } = context();
    ctx.facts.live = live;
    let seen: { keys: string[]; frozen: boolean } | undefined;
    const looks = definePhase({
      name: 'looks',
      needs: [],
      gives: [],
      reads: [],
      run: async (c) => {
        // @ts-expect-error: a phase has no result to write; it gives facts.
        void c.result;
        // @ts-expect-error: the facts are read-only; a phase gives what it found.
        c.facts.live = live;
      },
    });
    const peeks = step('peeks', {
      run: async (c: never) => void (seen = { keys: Object.keys(c), frozen: Object.isFrozen((c as Ctx).facts) }),
    });
    await runPipeline(ctx, { preflight: [], main: [peeks, looks], final: [] });
    expect(seen!.keys).not.toContain('result');
    expect(seen!.frozen).toBe(true);
    // Assigning to a frozen object throws in strict mode: looks failed, its write went nowhere.
    expect(drillResult(ctx).error?.message).toMatch(/read only|read-only|Cannot assign/);
  });

  it('what a phase gave before failing reaches the result; a phase that never ran gives nothing', async () => {
    const { ctx } = context();
    const inventory = { backups: [], problems: ['no completed backup'], newest: { backupId: '20261207T000000' } };
    const fails = definePhase({
      name: 'inventory',
      needs: [],
      gives: ['inventory'],
      reads: [],
      run: async ({ give }) => {
        give({ inventory: inventory as unknown as Inventory });
        throw new VerdictError(inventory.problems);
      },
    });
    await runPipeline(ctx, { preflight: [], main: [fails, step('never')], final: [settleVerdict] });
    const r = drillResult(ctx);
    expect(r).toMatchObject({ verdict: 'failed', reasons: ['no completed backup'], backupId: '20261207T000000' });
    expect(r.inventory).toBe(inventory);
    expect(r.rpo).toBeUndefined();
    expect('rpo' in r).toBe(false);
  });

  it('hands a phase and its `when` only the inputs it reads; reading another is an error naming it', async () => {
    const { ctx } = context();
    const seen: string[][] = [];
    const reads = definePhase({
      name: 'reads',
      needs: [],
      gives: [],
      reads: ['sameMomentWaitMs', 'liveCounts'],
      when: ({ inputs }) => seen.push(Object.keys(inputs)) > 0 || 'never',
      run: async ({ inputs }) => {
        seen.push(Object.keys(inputs));
        expect(inputs.sameMomentWaitMs).toBe(ctx.inputs.sameMomentWaitMs);
        // @ts-expect-error: timeoutMs is an input, but this phase does not read it.
        return void inputs.timeoutMs;
      },
    });
    await runPipeline(ctx, { preflight: [], main: [reads], final: [] });
    expect(seen).toEqual([
      ['sameMomentWaitMs', 'liveCounts'],
      ['sameMomentWaitMs', 'liveCounts'],
    ]);
    expect(drillResult(ctx).error?.message).toBe(
      "phase reads reads the input 'timeoutMs', which it does not declare (reads)",
    );
  });

  it('says where an input takes effect from the declarations alone', () => {
    const { ctx } = context();
    const phases = [...drillPipeline.preflight, ...drillPipeline.main, ...drillPipeline.final];
    expect(phases.flatMap((p) => p.reads.filter((r) => !(r in ctx.inputs)).map((r) => `${p.name}: ${r}`))).toEqual([]);
    const readers = (input: InputName) => phases.filter((p) => p.reads.includes(input)).map((p) => p.name);
    expect(readers('sameMomentWaitMs')).toEqual(['credentials', 'baseline', 'same-moment']);
    // The timeout is read once: credentials may shorten it, and every deadline needs the fact it gives.
    expect(readers('timeoutMs')).toEqual(['credentials']);
    expect(phases.filter((p) => p.needs.includes('timeoutMs')).map((p) => p.name)).toEqual([
      'restore-point',
      'same-moment',
      'wait-recovery',
      'compare',
      'verify',
    ]);
  });
});
