// `npm start` (test/demo/drill-demo.ts) end to end: the drill passes on the playground and the
// Slack message it would post (slack-preview: true) is printed from the job summary, within
// Block Kit's limits, exactly as drillSlackMessage renders it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { blockKitProblems } from '../../actions/lib/notify/preview.js';
import { repoRoot } from '../helpers/run-action.js';

it('npm start shows the Slack preview from the job summary, and its blocks are valid Block Kit', () => {
  const r = spawnSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'test/demo/drill-demo.ts')], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 900_000,
  });
  const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
  expect(r.status, out.slice(-3000) + r.stderr).toBe(0);
  expect(out).toContain('the drill PASSED');
  expect(out).toContain('### Slack message (preview, not sent)');
  expect(out).toContain('Within Block Kit limits');
  const payload = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(out)![1]) as { text: string; blocks: { type: string }[] };
  expect(blockKitProblems(payload)).toEqual([]);
  expect(payload.blocks[0]).toMatchObject({ type: 'header' });
  expect(payload.text).toMatch(/^:white_check_mark: Restore drill passed: default\/shop/);
}, 900_000);
