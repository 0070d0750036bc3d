// The suite's one retry/back-off module. withRetry: API calls that are safe to repeat (reads,
// deletes where 404 = done, creates whose 409 the caller treats as "already there", idempotent
// patches), honouring Retry-After on 429. backoffDelay: the same exponential back-off with
// jitter for loops that are not "call until it succeeds" (watch re-connects, kube/watch.ts).
// Not p-retry: a delay must come from the error (Retry-After), and watches stop at a deadline,
// not after a number of attempts.
import { ApiException } from '@kubernetes/client-node';

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (what: string, err: unknown, attempt: number, delayMs: number) => void;
}

export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NET =
  /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|aborted|timeout|network|fetch failed/i;

export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return TRANSIENT_STATUS.has(status);
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const text = [e?.name, e?.message, e?.code, e?.cause?.code, e?.cause?.message].filter(Boolean).join(' ');
  return TRANSIENT_NET.test(text);
}

export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const h = err.headers?.['retry-after'] ?? err.headers?.['Retry-After'];
  const s = Number(h);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface Backoff {
  baseDelayMs: number;
  maxDelayMs: number;
}

export const API_BACKOFF: Backoff = { baseDelayMs: 250, maxDelayMs: 8_000 };

/** Delay before retry `attempt` (1-based): base doubling up to max, with jitter; a Retry-After wins (capped at 4x max). */
export function backoffDelay(attempt: number, b: Backoff, err?: unknown): number {
  const exp = Math.min(b.maxDelayMs, b.baseDelayMs * 2 ** (attempt - 1));
  return Math.min(b.maxDelayMs * 4, retryAfterMs(err) ?? exp * (0.5 + Math.random() / 2));
}

export async function withRetry<T>(what: string, fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const {
    attempts = 6,
    baseDelayMs = API_BACKOFF.baseDelayMs,
    maxDelayMs = API_BACKOFF.maxDelayMs,
    signal,
    onRetry,
  } = opts;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err) || signal?.aborted) throw err;
      const delay = backoffDelay(attempt, { baseDelayMs, maxDelayMs }, err);
      onRetry?.(what, err, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

/** Runs `fn`, treating a 404 as success (deleting something already gone). */
export async function ignoreNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}
