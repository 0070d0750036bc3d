// Rewrites test/durations.json (each test file's seconds, read by test/helpers/sequencer.ts to run
// the longest files first) from a vitest JSON report: .build/vitest-results.json unless named.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { DURATIONS_FILE } from '../test/helpers/sequencer.js';

const root = resolve(import.meta.dirname, '..');
const report = resolve(process.argv[2] ?? resolve(root, '.build/vitest-results.json'));
const r = JSON.parse(readFileSync(report, 'utf8')) as {
  testResults: { name: string; startTime: number; endTime: number }[];
};
const rows = r.testResults
  .map((t) => [relative(root, t.name), Math.round((t.endTime - t.startTime) / 1000)] as const)
  .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
writeFileSync(DURATIONS_FILE, JSON.stringify(Object.fromEntries(rows), null, 2) + '\n');
console.log(`${rows.length} files written to ${relative(root, DURATIONS_FILE)} from ${relative(root, report)}`);
