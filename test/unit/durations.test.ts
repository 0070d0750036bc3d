// test/durations.json orders the suite (test/helpers/sequencer.ts): every file it names exists, and
// the longest files run first with files it does not know yet ahead of them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DURATIONS_FILE, longestFirst, readDurations } from '../helpers/sequencer.js';

const root = resolve(DURATIONS_FILE, '../..');

describe('test/durations.json', () => {
  it('names only test files that exist (npm run durations rewrites it from a full run)', () => {
    const missing = Object.keys(readDurations()).filter((f) => !existsSync(resolve(root, f)));
    expect(missing).toEqual([]);
  });

  it('orders by project, then unknown files, then longest first', () => {
    const files = [
      ['unit', 'test/unit/durations.test.ts'],
      ['e2e', 'test/playground/rbac.test.ts'],
      ['e2e', 'test/drill/not-yet-measured.test.ts'],
      ['e2e', 'test/addons/noop.test.ts'],
      ['e2e', 'test/drill/drill-pass.test.ts'],
    ];
    const order = longestFirst(
      files,
      (f) => f[1],
      (f) => f[0],
      { 'test/addons/noop.test.ts': 17, 'test/drill/drill-pass.test.ts': 69, 'test/playground/rbac.test.ts': 0 },
    ).map((f) => f[1]);
    expect(order).toEqual([
      'test/drill/not-yet-measured.test.ts',
      'test/drill/drill-pass.test.ts',
      'test/addons/noop.test.ts',
      'test/playground/rbac.test.ts',
      'test/unit/durations.test.ts',
    ]);
  });
});
