// Watch streams: newline-delimited JSON events, resourceVersion replay, bookmarks,
// sendInitialEvents, timeoutSeconds, and a 410 Expired delivered as an ERROR event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type ResourceType } from '../types.js';
import { apiVersionOf, gvrKey } from './builtins.js';
import { errorStatus } from './http.js';
import type { MemStore } from './store.js';

export interface WatchParams {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
}

export function serveWatch(
  store: MemStore,
  rt: ResourceType,
  p: WatchParams,
  req: IncomingMessage,
  res: ServerResponse,
  opts: { bookmarkIntervalMs: number; dropAfterMs?: number; onClose: (fn: () => void) => void },
): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const write = (ev: unknown) => {
    if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(ev)}\n`);
  };
  const bookmark = (initialEventsEnd = false) => write(bookmarkEvent(store, rt, initialEventsEnd));
  const timers: NodeJS.Timeout[] = [];
  let cancel: (() => void) | undefined;
  const finish = () => {
    cancel?.();
    cancel = undefined;
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    if (!res.writableEnded) res.end();
  };
  req.on('close', finish);
  res.on('close', finish);
  opts.onClose(finish);
  try {
    // sendInitialEvents (watch-list) starts from the current state like an unset resourceVersion.
    const rv = p.sendInitialEvents ? undefined : p.resourceVersion;
    cancel = store.watch(
      gvrKey(rt),
      p.namespace,
      { labelSelector: p.labelSelector, fieldSelector: p.fieldSelector, resourceVersion: rv },
      (ev) => write(ev),
    );
  } catch (e) {
    if (e instanceof ApiError) {
      write({ type: 'ERROR', object: errorStatus(e) });
      res.end();
      return;
    }
    throw e;
  }
  if (p.sendInitialEvents && p.allowWatchBookmarks) bookmark(true);
  if (p.allowWatchBookmarks) timers.push(setInterval(() => bookmark(), opts.bookmarkIntervalMs));
  if (p.timeoutSeconds !== undefined && p.timeoutSeconds > 0) timers.push(setTimeout(finish, p.timeoutSeconds * 1000));
  if (opts.dropAfterMs !== undefined) {
    // Fault: the connection dies mid-stream (no clean end of the chunked body).
    timers.push(setTimeout(() => res.socket?.destroy(), opts.dropAfterMs));
  }
}

function bookmarkEvent(store: MemStore, rt: ResourceType, initialEventsEnd: boolean) {
  return {
    type: 'BOOKMARK',
    object: {
      kind: rt.kind,
      apiVersion: apiVersionOf(rt),
      metadata: {
        resourceVersion: store.currentResourceVersion(),
        ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
      },
    },
  };
}
