import { defineConfig } from 'vitest/config';
import LongestFirst from './test/helpers/sequencer.js';

// Two projects, split by layout, never by a list. `unit`: test/unit/** and any `*.unit.test.ts`: tests
// that need no playground, PostgreSQL, helm/kubectl or root, so they run without .ci/setup.sh in
// seconds (`npm run test:unit`). They share worker threads and one module graph (no isolation: importing
// the modules again per file was most of the loop's CPU time); a unit test restores any global it changes.
// Six threads on two cores: the longest unit files mostly wait (on a local API server's controllers' seeded
// delays, a deadline), and other files run meanwhile (3 threads: 19 s; 5: 14.3-14.8 s; 6: 13.3-14.5 s). A project with its own maxWorkers needs its
// own groupOrder: `npm test` runs the unit group after e2e, as the shared pool ordered them before.
// `e2e`: every other test file; suites start their own playground (real Postgres, S3, barman-cloud). Three
// forks on two cores: with barman-cloud from a warm server (test/playground/cnpg/barman_fork.py) the files
// spend much of their time waiting (replay, archive_timeout, deadlines), and a third fork runs meanwhile
// (E2E_WORKERS sets another number). test/helpers/e2e-guard.ts fails an e2e file that starts no process: a pure
// test placed there is told to become a unit test instead of running silently as e2e. `npm test` runs both.
export const UNIT = ['test/unit/**/*.test.ts', 'test/**/*.unit.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: Number(process.env.E2E_WORKERS ?? 3),
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Longest files first (test/durations.json), so the forks end together.
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          pool: 'threads',
          isolate: false,
          maxWorkers: 6,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.test.ts'], exclude: UNIT, setupFiles: ['test/helpers/e2e-guard.ts'] },
      },
    ],
  },
});
