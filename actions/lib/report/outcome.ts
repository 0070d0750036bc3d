// How an action ends, the same for every action: the report in the job summary (a summary that
// cannot be written is a warning, never a second failure), then, on a failed verdict, the step
// fails with the verdict's reasons (VerdictError, errors.ts).
import type { Core } from '../core.js';
import { describeError } from '../errors.js';

export async function writeSummary(core: Pick<Core, 'summary' | 'warning'>, markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (err) {
    core.warning(`could not write the job summary: ${describeError(err)}`);
  }
}

/** Fails the step with one line per reason, each prefixed (e.g. 'restore drill failed: '). */
export function failWithReasons(core: Pick<Core, 'setFailed'>, reasons: string[], prefix = ''): void {
  core.setFailed(reasons.map((r) => `${prefix}${r}`).join('\n'));
}
