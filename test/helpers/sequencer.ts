// Longest files first, so the two e2e forks finish together. On a fresh clone vitest has no cached
// durations and runs larger files first; that put the 5-minute no-op sync test (a short file) last,
// with one fork idle for most of it. test/durations.json holds each file's seconds from a full run
// (`npm run durations` rewrites it from .build/vitest-results.json, which .ci/run writes).
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '../..');
export const DURATIONS_FILE = resolve(ROOT, 'test/durations.json');

/** A file not in the table yet runs first: it may be long, and a new file is where a failure is likeliest. */
const UNKNOWN = Number.MAX_SAFE_INTEGER;

export function readDurations(): Record<string, number> {
  return JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as Record<string, number>;
}

/** Orders repository-relative test paths: by project as vitest does, then longest first. */
export function longestFirst<T>(
  items: T[],
  path: (t: T) => string,
  project: (t: T) => string,
  seconds: Record<string, number> = readDurations(),
): T[] {
  const weight = (t: T) => seconds[path(t)] ?? UNKNOWN;
  return [...items].sort((a, b) => project(a).localeCompare(project(b)) || weight(b) - weight(a));
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const byVitest = await super.sort(files);
    return longestFirst(
      byVitest,
      (f) => relative(ROOT, f.moduleId),
      (f) => f.project.name,
    );
  }
}
