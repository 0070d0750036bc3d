// Where the drill's bundle is for the demo and the benchmark: ACTIONS_DIST, else dist/, else a
// private build into .build/dist-demo (never writes dist/, which the lead builds).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './run-action.js';

export function ensureDrillBundle(log: (line: string) => void = console.log): string {
  const candidates = [process.env.ACTIONS_DIST, join(repoRoot, 'dist')].filter(Boolean) as string[];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'cnpg-restore-drill', 'main.js'))) {
      process.env.ACTIONS_DIST = dir;
      return dir;
    }
  }
  const out = join(repoRoot, '.build', 'dist-demo');
  if (!existsSync(join(out, 'cnpg-restore-drill', 'main.js'))) {
    log(`building the action bundle into ${out} (about a minute)...`);
    execFileSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules/tsx/dist/cli.mjs'),
        join(repoRoot, '.ci/build.ts'),
        out,
        '--only',
        'cnpg-restore-drill',
      ],
      { stdio: 'inherit', cwd: repoRoot },
    );
  }
  process.env.ACTIONS_DIST = out;
  return out;
}
