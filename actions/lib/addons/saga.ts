// A small saga runner: steps run in order; when one fails, the undo of every completed step
// runs in reverse. If an undo fails too, the saga reports it so the caller leaves its record
// non-terminal for the next run to finish (steps and undos must therefore be idempotent).
import { describeErrorLine } from '../errors.js';

export interface SagaStep<C> {
  name: string;
  run(ctx: C): Promise<void>;
  /** Compensation; absent for steps that change nothing worth undoing. */
  undo?(ctx: C): Promise<void>;
}

export type SagaResult =
  | { ok: true; completed: string[] }
  | { ok: false; failedStep: string; error: unknown; compensated: true; undone: string[] }
  | {
      ok: false;
      failedStep: string;
      error: unknown;
      compensated: false;
      undone: string[];
      compensationStep: string;
      compensationError: unknown;
    };

export interface SagaHooks {
  /** Called before each step and each undo (the action logs a line per step). */
  onStep?(phase: 'run' | 'undo', step: string): void;
}

export async function runSaga<C>(steps: SagaStep<C>[], ctx: C, hooks: SagaHooks = {}): Promise<SagaResult> {
  const done: SagaStep<C>[] = [];
  for (const step of steps) {
    try {
      hooks.onStep?.('run', step.name);
      await step.run(ctx);
      done.push(step);
    } catch (error) {
      // The failed step may have half-happened: undo it as well (undos are idempotent).
      const toUndo = [step, ...done.reverse()].filter((s) => s.undo);
      const undone: string[] = [];
      for (const s of toUndo) {
        try {
          hooks.onStep?.('undo', s.name);
          await s.undo!(ctx);
          undone.push(s.name);
        } catch (compensationError) {
          return {
            ok: false,
            failedStep: step.name,
            error,
            compensated: false,
            undone,
            compensationStep: s.name,
            compensationError,
          };
        }
      }
      return { ok: false, failedStep: step.name, error, compensated: true, undone };
    }
  }
  return { ok: true, completed: done.map((s) => s.name) };
}

export function describeSagaFailure(r: Exclude<SagaResult, { ok: true }>): string {
  const base = `step '${r.failedStep}' failed: ${describeErrorLine(r.error)}`;
  if (r.compensated) return `${base}; compensated (${r.undone.join(', ') || 'nothing to undo'})`;
  return `${base}; compensation '${r.compensationStep}' failed: ${describeErrorLine(r.compensationError)} (the next run finishes it)`;
}
