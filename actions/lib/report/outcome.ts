// How an action ends, the same for every action (the error model: errors.ts): the report in the
// job summary (a summary that cannot be written is a warning, never a second failure), then the
// step fails: a usage error (InputError) with its one message, a verdict (VerdictError) with its
// reasons, anything else (a crash) described by describeError.
import type { Core } from '../core.js';
import { describeError, VerdictError } from '../errors.js';
import { InputError } from '../inputs.js';

export async function writeSummary(core: Pick<Core, 'summary' | 'warning'>, markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (err) {
    core.warning(`could not write the job summary: ${describeError(err)}`);
  }
}

/** How a verdict's reasons fail the step. */
export interface ReasonStyle {
  /** Before each reason (e.g. 'restore drill failed: '). */
  prefix?: string;
  /** Many independent reasons (one per app): each its own error annotation, the step failing with this line. */
  each?: (count: number) => string;
}

/** Fails the step with the reasons: one line each, or (style.each) one annotation each. */
export function failWithReasons(
  core: Pick<Core, 'setFailed' | 'error'>,
  reasons: string[],
  style: ReasonStyle = {},
): void {
  const lines = reasons.map((r) => `${style.prefix ?? ''}${r}`);
  if (!style.each) return core.setFailed(lines.join('\n'));
  for (const line of lines) core.error(line);
  core.setFailed(style.each(lines.length));
}

/** The one way an action's run() fails on what it threw. */
export function failWithError(core: Pick<Core, 'setFailed' | 'error'>, err: unknown, style: ReasonStyle = {}): void {
  if (err instanceof VerdictError) failWithReasons(core, err.reasons, style);
  else if (err instanceof InputError && err.problems.length)
    failWithReasons(core, err.problems, { each: () => err.message });
  else core.setFailed(describeError(err));
}
