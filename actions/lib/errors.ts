// The suite's error model, one for every action:
// - usage errors (InputError, inputs.ts): bad input, reported as one message, nothing written;
// - verdicts (VerdictError): the action ran and judged, failing with a list of reasons;
// - anything else is a crash, described by describeError.
import { ApiException } from '@kubernetes/client-node';

/** The action (a drill, a gate, a check) ran and judged: failed with these reasons. Not a crash. */
export class VerdictError extends Error {
  constructor(
    readonly reasons: string[],
    message = reasons.join('\n'),
  ) {
    super(message);
    this.name = 'VerdictError';
  }
}

/**
 * Describes any error for a log line, a reason or a summary: a Kubernetes API error as
 * "HTTP 403: <server message>" instead of client-node's dump of body and headers, an Error by its
 * message, anything else as a string.
 */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const msg = (body as { message?: string } | undefined)?.message;
    return `HTTP ${err.code}${msg ? `: ${msg}` : ''}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The same on one line (records and tables). */
export function describeErrorLine(err: unknown): string {
  return describeError(err)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s.slice(0, 300) };
  }
}
