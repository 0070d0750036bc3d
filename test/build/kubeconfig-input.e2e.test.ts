// Every action bundle that takes a kubeconfig, run as the runner runs it: an empty secret (a
// missing or misspelled `secrets.NAME`) with no KUBECONFIG fails with one error naming the
// input, even where in-cluster credentials would be found, and loads quietly (no Node
// deprecation warnings at start-up).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runAction } from '../helpers/run-action.js';

const required: Record<string, Record<string, string>> = {
  'addon-sync': { apps: 'apps/*/app.toml' },
  'cnpg-restore-drill': { cluster: 'payments-db', namespace: 'billing' },
  'platform-install': {
    chart: join(repoRoot, 'test/fixtures/charts/platform'),
    'helm-path': join(repoRoot, '.tools/bin/helm'),
    release: 'platform',
    namespace: 'platform',
  },
  'soak-gate-check': {
    cluster: 'payments-db',
    subscription: 'payments_sub',
    publication: 'payments_pub',
    'publisher-secret': 'legacy-publisher',
  },
};

describe('an empty kubeconfig input with no KUBECONFIG', () => {
  const home = mkdtempSync(join(tmpdir(), 'empty-home-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  // addon-sync reads its app.toml files (relative to GITHUB_WORKSPACE) before it needs a cluster.
  mkdirSync(join(home, 'apps', 'billing-api'), { recursive: true });
  writeFileSync(
    join(home, 'apps', 'billing-api', 'app.toml'),
    'name = "billing-api"\n\n[addons.postgresql]\nvariant = "small"\n',
  );

  it.each(Object.keys(required))('%s fails naming the input, nothing else tried', async (action) => {
    const r = await runAction(action, 'main', {
      inputs: { ...required[action], kubeconfig: '' },
      env: {
        HOME: home,
        GITHUB_WORKSPACE: home,
        KUBECONFIG: undefined,
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      },
      timeoutMs: 60_000,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^Input 'kubeconfig': is empty and KUBECONFIG is not set\./);
    expect(r.stdout + r.stderr).not.toMatch(/localhost:8080|10\.96\.0\.1|serviceaccount/);
    expect(r.stderr).not.toMatch(/DeprecationWarning/);
  });
});
