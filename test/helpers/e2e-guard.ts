// Set up before every e2e test file (vitest.config.ts): an e2e file whose tests ran but started no
// process (no PostgreSQL, barman-cloud, helm, kubectl, bundled action, tsc) needs nothing e2e gives, so
// it fails and says to make it a unit test: the split follows the layout, and a pure test does not pay
// for a fork and a place in the slow project unnoticed.
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';
import { afterAll, beforeEach, expect } from 'vitest';

const SPAWNERS = ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork'] as const;
const counted = Symbol.for('cnpg-actions.e2e-guard');
interface Counts {
  processes: number;
  tests: number;
}
const state = globalThis as { [counted]?: Counts };

if (!state[counted]) {
  const counts: Counts = { processes: 0, tests: 0 };
  state[counted] = counts;
  const mutable = cp as unknown as Record<string, (...args: unknown[]) => unknown>;
  const counting = (original: (...args: unknown[]) => unknown) => {
    const wrapper = function (this: unknown, ...args: unknown[]) {
      counts.processes++;
      return original.apply(this, args);
    };
    // Keep promisify's own version (execFile's resolves { stdout, stderr }), counted too.
    const custom = (original as unknown as Record<symbol, unknown>)[promisify.custom];
    if (typeof custom === 'function')
      Object.defineProperty(wrapper, promisify.custom, { value: counting(custom as (...a: unknown[]) => unknown) });
    return wrapper;
  };
  for (const name of SPAWNERS) mutable[name] = counting(mutable[name]);
  syncBuiltinESMExports();
}
const counts = state[counted];
counts.processes = 0;
counts.tests = 0;

beforeEach(() => {
  counts.tests++;
});

afterAll(() => {
  if (counts.tests === 0) return; // every test skipped (a missing tool said so)
  const file = expect.getState().testPath ?? 'this file';
  if (counts.processes === 0)
    throw new Error(
      `${file} ran in the e2e project but started no process: it needs no playground, so name it ` +
        '*.unit.test.ts (or move it under test/unit/) and it runs with `npm run test:unit`',
    );
});
