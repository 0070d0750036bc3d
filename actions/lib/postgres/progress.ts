// Work over many relations of a restore: largest first (the longest scan starts at once, so the
// pool does not end waiting on it alone), bounded concurrency, a progress line in the log every
// `everyMs`, and no new item started once the signal aborts or the deadline passes.
import pLimit from 'p-limit';
import { formatBytes } from '../report/format.js';

export interface Sized {
  bytes: number;
  /** How many of `unit` this item stands for (a batch of small tables); default 1. */
  n?: number;
}

export interface ProgressOptions {
  concurrency: number;
  /** e.g. 'restore app: read' -> "restore app: read 12/40 tables, 1.2 GiB of 3.0 GiB in 31 s". */
  label: string;
  unit: string;
  log?: (line: string) => void;
  everyMs?: number;
  signal?: AbortSignal;
  /** Epoch ms after which no item starts; `skipped` is called for each item left. */
  deadline?: number;
}

export async function forEachLargestFirst<T extends Sized>(
  items: T[],
  work: (item: T) => Promise<void>,
  skipped: (item: T, why: string) => void,
  opts: ProgressOptions,
): Promise<void> {
  const ordered = [...items].sort((a, b) => b.bytes - a.bytes);
  const total = ordered.reduce((n, i) => n + i.bytes, 0);
  const count = ordered.reduce((n, i) => n + (i.n ?? 1), 0);
  const started = Date.now();
  let done = 0;
  let bytes = 0;
  const line = () =>
    `${opts.label} ${done}/${count} ${opts.unit}, ${formatBytes(bytes)} ` +
    `of ${formatBytes(total)} in ${Math.round((Date.now() - started) / 1000)} s`;
  const timer = opts.log ? setInterval(() => opts.log!(line()), opts.everyMs ?? 15_000) : undefined;
  timer?.unref();
  const limit = pLimit(opts.concurrency);
  try {
    await Promise.all(
      ordered.map((item) =>
        limit(async () => {
          if (opts.signal?.aborted) return;
          if (opts.deadline !== undefined && Date.now() >= opts.deadline)
            skipped(item, 'not started: the drill deadline (timeout) passed');
          else await work(item);
          done += item.n ?? 1;
          bytes += item.bytes;
        }),
      ),
    );
  } finally {
    if (timer) clearInterval(timer);
  }
  opts.log?.(line());
}
