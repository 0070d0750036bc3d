// Failures that carry a one-line cause for the step's failure message.

/** The drill (or a gate) ran and judged: failed with these reasons. Not a crash. */
export class VerdictError extends Error {
  constructor(readonly reasons: string[]) {
    super(reasons.join('\n'));
    this.name = 'VerdictError';
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
