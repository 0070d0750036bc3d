// Final: closes every database session the run opened, bounded: pg's pool.end() waits for
// running queries, and that must never hold up the teardown.
import { CLOSE_SESSIONS_CANCELLED_MS, CLOSE_SESSIONS_MS } from '../limits.js';
import { definePhase } from '../pipeline.js';

export const closeSessions = definePhase({
  name: 'close-sessions',
  needs: [],
  gives: [],
  reads: [],
  async run({ owned, signal }) {
    const budget = signal.aborted ? CLOSE_SESSIONS_CANCELLED_MS : CLOSE_SESSIONS_MS;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(owned.sessions.map((c) => c.close())),
      new Promise((r) => (timer = setTimeout(r, budget))),
    ]);
    clearTimeout(timer);
  },
});
