import { defineConfig } from 'vitest/config';

// Two projects. `unit`: tests that need no playground, PostgreSQL, helm/kubectl or root, so they
// run without scripts/setup.sh in seconds (`npm run test:unit`); add a test here when it qualifies.
// They share worker threads and one module graph (no isolation: importing the modules again per file
// was most of the loop's CPU time); a unit test restores any global it changes (process.env).
// `e2e`: everything else; suites start their own playground (real Postgres, S3, barman-cloud) on
// two cores, so two forks. `npm test` runs both.
const UNIT = [
  'test/unit/**/*.test.ts',
  'test/addons/unit.test.ts',
  'test/drill/live-spec-conformance.test.ts',
  'test/drill/phase-clock.test.ts',
  'test/drill/pipeline.test.ts',
  'test/drill/units.test.ts',
  'test/drill/recovery-site.test.ts',
  'test/drill/window.test.ts',
  'test/drill/targets.test.ts',
  'test/drill/same-moment.test.ts',
  'test/notify/slack.test.ts',
  'test/postgres/compare-counts.test.ts',
  'test/postgres/portforward-ends.test.ts',
  'test/soak/logic.test.ts',
  'test/playground/apiserver.test.ts',
  'test/playground/apiserver-strict.test.ts',
  'test/playground/crd-schema.test.ts',
  'test/playground/faults.test.ts',
  'test/workflows/workflows.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, pool: 'threads', isolate: false } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'], exclude: UNIT } },
    ],
  },
});
