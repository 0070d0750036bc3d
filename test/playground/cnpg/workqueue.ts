// A controller work queue: one reconcile at a time per key, re-run when kicked meanwhile,
// requeue after a delay; and an informer-like watch over a resource in all namespaces.
import type { Store, WatchEvent } from '../types.js';
import type { Timing } from '../timing.js';

export type ReconcileFn = (key: string) => Promise<number | void>;

export class WorkQueue {
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly fn: ReconcileFn,
    private readonly onError: (name: string, key: string, err: unknown) => void,
    private readonly timing: Timing,
  ) {}

  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      const prev = this.timers.get(key);
      if (prev) clearTimeout(prev);
      this.timers.set(
        key,
        setTimeout(() => {
          this.timers.delete(key);
          this.add(key);
        }, delayMs),
      );
      return;
    }
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.running.add(key);
    const p = this.loop(key).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async loop(key: string): Promise<void> {
    await Promise.resolve(); // never reconcile inside the caller's stack (e.g. a watch callback)
    try {
      do {
        this.dirty.delete(key);
        let requeue: number | void = undefined;
        try {
          requeue = await this.fn(key);
        } catch (err) {
          if (this.stopped) return;
          this.onError(this.name, key, err);
          requeue = this.timing.delay('operatorError');
        }
        // A requeue runs after its RequeueAfter and whatever the queue adds on top.
        if (typeof requeue === 'number' && !this.stopped) this.add(key, requeue + this.timing.delay('operatorRequeue'));
      } while (this.dirty.has(key) && !this.stopped);
    } finally {
      this.running.delete(key);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inflight]);
  }
}

/** List + watch in all namespaces, re-listing when the watch history is too old. */
export function informer(store: Store, gvr: string, onEvent: (ev: WatchEvent) => void): () => void {
  let cancel: (() => void) | undefined;
  let stopped = false;
  const start = () => {
    if (stopped) return;
    try {
      const list = store.list(gvr);
      for (const obj of list.items) onEvent({ type: 'ADDED', object: obj });
      cancel = store.watch(gvr, undefined, { resourceVersion: list.resourceVersion }, (ev) => {
        if (ev.type !== 'BOOKMARK') onEvent(ev);
      });
    } catch {
      setTimeout(start, 200);
    }
  };
  start();
  return () => {
    stopped = true;
    cancel?.();
  };
}
