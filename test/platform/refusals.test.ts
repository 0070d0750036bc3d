// platform-install refusals on the playground: what must fail BEFORE anything is written (missing
// CRD group, five-field cron, a webhook rejection in the dry-run), bad inputs with one clear
// error each, and a cancelled upgrade that helm rolls back because the SIGTERM reaches it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../helpers/run-action.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { installer, RELEASE, type Installer } from './e2e.js';
import { chartVariant, cleanupVariants, fixtureChart, helmBin, writeValues } from './fixture.js';

let pg: PlaygroundHandle;
let t: Installer;
const NS = 'platform-checks';

beforeAll(async () => {
  pg = await startPlayground();
  t = installer(pg);
  // An existing namespace, as on every upgrade: the dry-run can then judge namespaced objects.
  await t.kubectl('create', 'namespace', NS);
});
afterAll(async () => {
  t?.dispose();
  cleanupVariants();
  await pg?.stop();
});

async function expectNothingWritten(since: number) {
  expect(t.writesSince(since)).toEqual([]);
  expect(await t.kubectl('get', 'secrets', '-A', '-l', 'owner=helm', '-o', 'name')).toBe('');
  expect(await t.kubectl('get', 'crd', 'clusters.fixture.cnpg-actions.io', '--ignore-not-found', '-o', 'name')).toBe(
    '',
  );
}

describe('platform-install refuses before writing', () => {
  it('a PodMonitor on a cluster without monitoring.coreos.com, naming the value that turns it off', async () => {
    const since = Date.now();
    const r = await t.install({
      chart: fixtureChart,
      namespace: NS,
      set: 'cloudnative-pg.monitoring.podMonitor.enabled=true',
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      'PodMonitor platform-cloudnative-pg (platform/charts/cloudnative-pg/templates/podmonitor.yaml) needs monitoring.coreos.com/v1',
    );
    expect(r.errors[0]).toContain('does not serve API group monitoring.coreos.com');
    expect(r.errors[0]).toContain('turn it off with cloudnative-pg.monitoring.podMonitor.enabled=false');
    expect(r.summary).toContain('⛔ refused before touching the cluster');
    expect(r.summary).toMatch(/API groups served or defined by the chart \| ❌ failed/);
    await expectNothingWritten(since);
  });

  it('a five-field ScheduledBackup cron, explaining it would run hourly', async () => {
    const since = Date.now();
    const values = writeValues('values-backup.yaml', {
      backup: { scheduledBackup: { enabled: true, schedule: '0 3 * * *' } },
    });
    // Also runs `helm dependency update` (the default), which a vendored-only chart passes untouched.
    const r = await t.install({
      chart: chartVariant(),
      namespace: NS,
      'values-files': values,
      'skip-dependency-update': 'false',
    });
    expect(r.exitCode).toBe(1);
    expect(r.summary).toMatch(/helm dependency update \| ✅ passed/);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      "ScheduledBackup pg-daily (platform/templates/scheduledbackup.yaml): schedule '0 3 * * *' has five fields",
    );
    expect(r.errors[0]).toContain('run every hour');
    expect(r.errors[0]).toContain("'0 0 3 * * *'");
    await expectNothingWritten(since);
  });

  it('an object the CNPG webhook rejects, found by the server-side dry-run', async () => {
    const since = Date.now();
    const r = await t.install({
      chart: fixtureChart,
      namespace: NS,
      set: 'backup.scheduledBackup.enabled=true\nbackup.scheduledBackup.method=plugin',
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(
      /the API server rejects ScheduledBackup platform-checks\/pg-daily \(platform\/templates\/scheduledbackup.yaml\) in a dry-run: HTTP 422: .*pluginConfiguration/,
    );
    const dryRuns = pg.requestLog.entries().filter((e) => e.time >= since && /dryRun=All/.test(e.query));
    expect(dryRuns.map((e) => `${e.method} ${e.path}`)).toContain(
      `PATCH /apis/postgresql.cnpg.io/v1/namespaces/${NS}/scheduledbackups/pg-daily`,
    );
    await expectNothingWritten(since);
  });
});

describe('platform-install bad inputs: one clear error each', () => {
  it('a missing chart path', async () => {
    const r = await t.install({ chart: 'charts/does-not-exist', namespace: NS });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toEqual([
      expect.stringMatching(
        /^Input 'chart': 'charts\/does-not-exist' does not exist \(resolved to .*\); check out the repository first/,
      ),
    ]);
  });

  it('a values file that is not YAML', async () => {
    const values = writeValues('broken.yaml', 'cloudnative-pg:\n  image: [unclosed\n');
    const r = await t.install({ chart: fixtureChart, namespace: NS, 'values-files': values });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toEqual([
      expect.stringMatching(/^Input 'values-files': '.*broken.yaml' is not valid YAML: .*; fix the file\.$/),
    ]);
  });

  it('an unreachable cluster', async () => {
    const unreachable = (await import('node:fs'))
      .readFileSync(pg.kubeconfigPath, 'utf8')
      .replace(/server: .*/, 'server: http://127.0.0.1:9');
    const r = await t.install({ chart: fixtureChart, namespace: NS, kubeconfig: unreachable });
    expect(r.exitCode).toBe(1);
    expect(r.errors).toEqual([
      expect.stringMatching(
        /^Input 'kubeconfig': Cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:9.*Check the kubeconfig input/,
      ),
    ]);
    expect(r.masked).toContain('playground-token');
    expect(r.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain('playground-token');
  });

  it('a helm binary that is not there', async () => {
    const r = await t.install({ chart: fixtureChart, namespace: NS, 'helm-path': '/nonexistent/helm' });
    expect(r.errors).toEqual([
      "Input 'helm-path': '/nonexistent/helm' is not an executable helm binary; install Helm v3.13+/v4 in an earlier step (e.g. azure/setup-helm) or pass its path.",
    ]);
  });
});

describe('platform-install cancelled mid-upgrade', () => {
  it('forwards SIGTERM to helm, which cancels the wait and rolls back', async () => {
    const ns = 'platform-cancel';
    const base = { chart: chartVariant({ operatorVersion: '1.27.1' }), namespace: ns };
    expect((await t.install(base)).exitCode).toBe(0);
    let sent = 0;
    const r = await runAction('platform-install', 'main', {
      inputs: {
        release: RELEASE,
        'helm-path': helmBin,
        'skip-dependency-update': 'true',
        'helm-timeout': '120s',
        ...base,
        set: 'cloudnative-pg.image.repository=registry.example.com/does-not-exist/cloudnative-pg',
      },
      env: { KUBECONFIG: pg.kubeconfigPath },
      timeoutMs: 120_000,
      onSpawn: (child) => {
        // Like the runner on cancel: SIGTERM to the action while helm waits for the rollout.
        child.stdout!.on('data', (d: Buffer) => {
          if (sent || !/\$ helm upgrade/.test(String(d))) return;
          sent = Date.now();
          setTimeout(() => child.kill('SIGTERM'), 3_000);
        });
      },
    });
    expect(r.exitCode).toBe(1);
    expect(r.durationMs).toBeLessThan(60_000);
    expect(r.stdout).toContain('received SIGTERM: forwarding it to helm');
    expect(r.errors[0]).toMatch(/helm upgrade failed: .*(cancel|rolled back)/);
    const history = JSON.parse(await t.helm('history', RELEASE, '-n', ns, '-o', 'json')) as {
      status: string;
      description: string;
    }[];
    expect(history.at(-1)).toMatchObject({ status: 'deployed', description: 'Rollback to 1' });
    expect(
      await t.kubectl(
        '-n',
        ns,
        'get',
        'deploy',
        `${RELEASE}-cloudnative-pg`,
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ),
    ).toBe('ghcr.io/cloudnative-pg/cloudnative-pg:1.27.1');
  });
});
