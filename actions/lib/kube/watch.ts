// Waiting on objects by watching (not polling): re-lists and re-watches from the last
// resourceVersion when the stream drops, restarts from a fresh list on 410 Gone, and gives up
// only at the caller's deadline or abort.
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { backoffDelay, sleep, type Backoff } from './retry.js';

/** Re-list after a failed list; re-watch after a dropped stream (shorter: the object may change meanwhile). */
const RELIST_BACKOFF: Backoff = { baseDelayMs: 400, maxDelayMs: 5_000 };
const REWATCH_BACKOFF: Backoff = { baseDelayMs: 400, maxDelayMs: 2_000 };

export interface WatchTarget {
  /** Collection path, e.g. /apis/postgresql.cnpg.io/v1/namespaces/ns/clusters */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WaitOptions {
  deadline: number; // epoch ms
  signal?: AbortSignal;
  /** Lists the collection (used at start and after every drop); returns items and the list resourceVersion. */
  list: () => Promise<{ items: unknown[]; resourceVersion?: string }>;
  onDrop?: (err: unknown) => void;
  /**
   * Re-observe the latest state of every object this often (as 'MODIFIED'): for predicates that
   * depend on time, e.g. an error phase that persists and so emits no event.
   */
  recheckMs?: number;
}

export class WaitTimeout extends Error {
  constructor(what: string) {
    super(`timed out waiting for ${what}`);
    this.name = 'WaitTimeout';
  }
}

/**
 * Calls `observe` with the current state of every object (from a list), then with each watch
 * event, until it returns a value other than undefined; returns that value.
 */
export async function watchUntil<T>(
  kc: KubeConfig,
  target: WatchTarget,
  what: string,
  observe: (type: WatchEventType, obj: unknown) => T | undefined,
  opts: WaitOptions,
): Promise<T> {
  const watch = new Watch(kc);
  const latest = new Map<string, unknown>();
  const tracked = (type: WatchEventType, obj: unknown): T | undefined => {
    const m = (obj as { metadata?: { namespace?: string; name?: string } })?.metadata;
    const k = `${m?.namespace ?? ''}/${m?.name ?? ''}`;
    if (type === 'DELETED') latest.delete(k);
    else latest.set(k, obj);
    return observe(type, obj);
  };
  const recheck = (): T | undefined => {
    for (const obj of latest.values()) {
      const r = observe('MODIFIED', obj);
      if (r !== undefined) return r;
    }
    return undefined;
  };
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (Date.now() >= opts.deadline) throw new WaitTimeout(what);
    let rv: string | undefined;
    try {
      const listed = await opts.list();
      latest.clear();
      for (const item of listed.items) {
        const r = tracked('ADDED', item);
        if (r !== undefined) return r;
      }
      rv = listed.resourceVersion;
    } catch (err) {
      opts.onDrop?.(err);
      await sleep(backoffDelay(attempt, RELIST_BACKOFF), opts.signal);
      continue;
    }
    const result = await watchOnce(watch, target, rv, tracked, opts, recheck);
    if (result.done) return result.value as T;
    if (result.err) opts.onDrop?.(result.err);
    await sleep(backoffDelay(attempt, REWATCH_BACKOFF), opts.signal).catch(() => {});
  }
}

function watchOnce<T>(
  watch: Watch,
  target: WatchTarget,
  resourceVersion: string | undefined,
  observe: (type: WatchEventType, obj: unknown) => T | undefined,
  opts: WaitOptions,
  recheck: () => T | undefined,
): Promise<{ done: boolean; value?: T; err?: unknown }> {
  return new Promise((resolve) => {
    let settled = false;
    let controller: AbortController | undefined;
    const ticker = opts.recheckMs
      ? setInterval(() => {
          const r = recheck();
          if (r !== undefined) finish({ done: true, value: r });
        }, opts.recheckMs)
      : undefined;
    const finish = (r: { done: boolean; value?: T; err?: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(ticker);
      opts.signal?.removeEventListener('abort', onAbort);
      controller?.abort();
      resolve(r);
    };
    const onAbort = () => finish({ done: false, err: opts.signal?.reason });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Bounded server-side timeout plus our own deadline timer: a silent stream must not hang us.
    const remaining = Math.max(1_000, opts.deadline - Date.now());
    const timer = setTimeout(() => finish({ done: false }), Math.min(remaining, 300_000));
    // An abort during the list has fired already and fires no more: a watch opened now would hold the
    // process open until the server ends it (timeoutSeconds, up to 5 min; test/unit/watch-abort.test.ts).
    if (opts.signal?.aborted) return onAbort();
    watch
      .watch(
        target.path,
        watchQuery(target, remaining, resourceVersion),
        (phase, obj) => {
          if (settled) return;
          if (phase === 'ERROR') return finish({ done: false, err: new Error(`watch error: ${JSON.stringify(obj)}`) });
          if (phase === 'BOOKMARK') return;
          const r = observe(phase as WatchEventType, obj);
          if (r !== undefined) finish({ done: true, value: r });
        },
        (err) => finish({ done: false, err }),
      )
      .then((c) => {
        controller = c;
        if (settled) c.abort();
      })
      .catch((err) => finish({ done: false, err }));
  });
}

function watchQuery(
  target: WatchTarget,
  remainingMs: number,
  resourceVersion: string | undefined,
): Record<string, string | number | boolean | undefined> {
  return {
    allowWatchBookmarks: true,
    timeoutSeconds: Math.ceil(Math.min(remainingMs, 300_000) / 1000),
    labelSelector: target.labelSelector,
    fieldSelector: target.fieldSelector,
    resourceVersion,
  };
}
