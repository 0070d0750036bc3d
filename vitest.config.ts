import { defineConfig } from 'vitest/config';

// Suites start their own playground (real Postgres, S3, barman-cloud): two cores, so two forks.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
