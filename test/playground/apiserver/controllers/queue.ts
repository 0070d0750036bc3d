// A deduplicating reconcile queue: controllers enqueue keys on changes and reconcile them
// outside the store's notification (so a reconcile can write without re-entrancy).
export class ReconcileQueue {
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly reconcile: (key: string) => void | Promise<void>,
  ) {}

  /** Runs the reconcile for `key` after `delayMs` (whichever pending run is due first wins). */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    const due = Date.now() + delayMs;
    if (existing) {
      if (delayMs > 0 && existing.due <= due) return;
      clearTimeout(existing.timer);
    }
    const t = setTimeout(() => {
      this.timers.delete(key);
      if (this.stopped) return;
      Promise.resolve()
        .then(() => this.reconcile(key))
        .catch((e) => {
          if (!this.stopped) console.error(`playground ${this.name} controller: ${key}:`, e);
        });
    }, delayMs);
    t.unref?.();
    this.timers.set(key, { timer: t, due });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }
}

export const nsName = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
export function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf('/');
  const ns = key.slice(0, i);
  return [ns || undefined, key.slice(i + 1)];
}
export const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
