// .ci/setup.sh never stops a PostgreSQL cluster it did not start: a developer's own database,
// online before setup runs, is still online after it (before, setup stopped every online cluster).
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-action.js';
import { postgresInstall } from '../helpers/postgres-install.js';

const root = process.getuid?.() === 0;
const hasCommon = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v pg_createcluster && command -v pg_lsclusters'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const status = (major: number, name: string) =>
  execFileSync('pg_lsclusters', ['-h', String(major), name], { encoding: 'utf8' })
    .trim()
    .split(/\s+/)[3];

it.skipIf(!root || !hasCommon)(
  "leaves a developer's own running cluster alone (needs root and postgresql-common's pg_createcluster)",
  () => {
    const { major } = postgresInstall();
    const name = `setup-test-${process.pid}`;
    execFileSync('pg_createcluster', [String(major), name, '--start'], { stdio: 'ignore' });
    try {
      expect(status(major, name)).toBe('online');
      const out = execFileSync('bash', ['.ci/setup.sh'], { cwd: repoRoot, encoding: 'utf8' });
      expect(out).not.toContain(`${major}/${name}`);
      expect(status(major, name)).toBe('online');
    } finally {
      execFileSync('pg_dropcluster', [String(major), name, '--stop'], { stdio: 'ignore' });
    }
  },
);
