// recovery-kubeconfig: the recovery Cluster in ANOTHER Kubernetes cluster (startPlaygroundPair:
// two RBAC-enforcing API servers and operators, one S3), with exactly the permissions of
// workflows/rbac/cnpg-restore-drill-live-readonly.yaml (live) and
// cnpg-restore-drill-recovery-cluster.yaml (recovery site): passes, cleans up on the recovery
// side on every path (SIGTERM, SIGKILL + post), and refuses a recovery site without the operator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { leakedSecrets, runAction } from '../helpers/run-action.js';
import { startPlayground, startPlaygroundPair, type PlaygroundPair } from '../playground/playground.js';
import { readFileSync } from 'node:fs';
import { applyRbacExample, forbidden, serviceAccountKubeconfig, siteLeftovers, writesIn } from './least-privilege.js';
import { drillClusters, explain, runDrill } from './support.js';

const LIVE_NS = 'payments-prod';
const DR_NS = 'dr-drills';
let pair: PlaygroundPair;
let live: LiveCluster;
let liveKc: string;
let drKc: string;

beforeAll(async () => {
  ensureDrillBundle();
  pair = await startPlaygroundPair({ live: { rbac: true }, dr: { rbac: true } });
  live = await createLiveCluster(pair.live, {
    name: 'ledger-Main'.toLowerCase(),
    namespace: LIVE_NS,
    rows: 300,
    rowsAfterBackup: 10,
  });
  pair.dr.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DR_NS } });
  liveKc = serviceAccountKubeconfig(pair.live, 'live-sa');
  drKc = serviceAccountKubeconfig(pair.dr, 'dr-sa');
  applyRbacExample(pair.live, 'cnpg-restore-drill-live-readonly.yaml', {
    databases: LIVE_NS,
    'pg-main-app': `${live.name}-app`,
    'backup-creds': pair.live.env.PLAYGROUND_S3_SECRET,
  });
  applyRbacExample(pair.dr, 'cnpg-restore-drill-recovery-cluster.yaml', {});
}, 300_000);
afterAll(async () => {
  await pair?.stop();
});

const inputs = () => ({
  kubeconfig: liveKc,
  'recovery-kubeconfig': drKc,
  'recovery-namespace': DR_NS,
  cluster: live.name,
  namespace: LIVE_NS,
  'credentials-secret': `${live.name}-app`,
});

describe('recovery-kubeconfig with least privilege', () => {
  it('restores at the recovery site, compares through a port-forward on each side, and cleans it', async () => {
    const since = Date.now();
    const r = await runDrill(pair.live, inputs());
    expect(r.outputs.result, explain(r)).toBe('passed');
    expect(r.summary).toContain(`namespace ${DR_NS} of the recovery Kubernetes cluster ${pair.dr.apiUrl}`);
    expect(r.summary).toContain(live.destinationPath);
    const name = r.outputs['recovery-cluster'];
    // Port-forwards: to the live primary through the live API server, to the restored one through the DR API server.
    expect(
      pair.live.requestLog
        .entries()
        .some((e) => e.time >= since && e.path.endsWith('/portforward') && e.path.includes(`/namespaces/${LIVE_NS}/`)),
    ).toBe(true);
    expect(
      pair.dr.requestLog
        .entries()
        .some((e) => e.time >= since && e.path === `/api/v1/namespaces/${DR_NS}/pods/${name}-1/portforward`),
    ).toBe(true);
    expect(writesIn(pair.live, LIVE_NS, since)).toEqual([]);
    expect([...forbidden(pair.live, since), ...forbidden(pair.dr, since)]).toEqual([]);
    expect(siteLeftovers(pair.dr, DR_NS, name)).toEqual([]);
    expect(drillClusters(pair.live, LIVE_NS)).toEqual([]);
    const record = pair.dr.store.get('v1/configmaps', DR_NS, `cnpg-restore-drill-${LIVE_NS}-${live.name}`);
    expect(record?.metadata.labels).toMatchObject({ 'cnpg-actions.io/drill-history-namespace': LIVE_NS });
    expect(leakedSecrets(r, live.secrets())).toEqual([]);
  }, 300_000);

  it('SIGTERM while the recovery runs: main starts the teardown at the recovery site in the grace window, post finishes it', async () => {
    const r = await runDrill(pair.live, inputs(), {
      killOn: { pattern: /created recovery cluster/, signal: 'SIGTERM' },
    });
    const name = r.state['recovery-cluster'];
    expect(name, explain(r)).toBeTruthy();
    expect(r.stdout).toContain('Received SIGTERM');
    expect(r.stdout).toContain(`Deleting recovery cluster ${DR_NS}/${name}`);
    // A recovery mid-restore may outlive the ~6.5 s grace window: the runner's post step re-checks.
    const post = await runAction('cnpg-restore-drill', 'post', { state: r.state, timeoutMs: 240_000 });
    expect(post.exitCode, explain(post)).toBe(0);
    // Post reads saved state only (the recovery site's kubeconfig among it), no inputs.
    expect(post.stdout).toMatch(
      new RegExp(
        `${DR_NS}/${name}: (torn down and verified by the main step|nothing left \\(verified in \\d+ ms, on ${pair.dr.apiUrl.replace(/[.]/g, '\\.')}\\))`,
      ),
    );
    expect(siteLeftovers(pair.dr, DR_NS, name)).toEqual([]);
    expect(drillClusters(pair.live, LIVE_NS)).toEqual([]);
  }, 400_000);

  it('SIGKILL (no teardown in main): post tears the recovery site down, copies included', async () => {
    const r = await runDrill(pair.live, inputs(), {
      killOn: { pattern: /created recovery cluster/, signal: 'SIGKILL' },
    });
    const name = r.state['recovery-cluster'];
    expect(name, explain(r)).toBeTruthy();
    expect(siteLeftovers(pair.dr, DR_NS, name).length).toBeGreaterThan(0);
    const post = await runAction('cnpg-restore-drill', 'post', { state: r.state, timeoutMs: 240_000 });
    expect(post.exitCode, explain(post)).toBe(0);
    expect(siteLeftovers(pair.dr, DR_NS, name)).toEqual([]);
    expect(drillClusters(pair.live, LIVE_NS)).toEqual([]);
  }, 400_000);
});

describe('a recovery site that cannot recover: one clear error, nothing created', () => {
  it('no CNPG operator there', async () => {
    const bare = await startPlayground({ operator: false, s3: pair.s3 });
    try {
      bare.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DR_NS } });
      const since = Date.now();
      const r = await runDrill(pair.live, {
        ...inputs(),
        'recovery-kubeconfig': readFileSync(bare.kubeconfigPath, 'utf8'),
      });
      expect(r.exitCode).toBe(1);
      expect(r.errors.join('\n')).toContain(
        `Input 'recovery-kubeconfig': the recovery cluster ${bare.apiUrl} does not serve postgresql.cnpg.io: the CloudNativePG operator is not installed there`,
      );
      expect(bare.requestLog.entries().filter((e) => e.time >= since && e.method !== 'GET')).toEqual([]);
    } finally {
      await bare.stop();
    }
  }, 120_000);

  it('plugin-mode backups and no Barman Cloud plugin there', async () => {
    const plugin = await createLiveCluster(pair.live, {
      name: 'invoices-db',
      namespace: 'billing-prod',
      mode: 'plugin',
      rows: 100,
    });
    const noPlugin = await startPlayground({ s3: pair.s3 });
    try {
      noPlugin.store.delete(
        'apiextensions.k8s.io/v1/customresourcedefinitions',
        undefined,
        'objectstores.barmancloud.cnpg.io',
      );
      noPlugin.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DR_NS } });
      const since = Date.now();
      const r = await runDrill(pair.live, {
        kubeconfig: readFileSync(pair.live.kubeconfigPath, 'utf8'),
        'recovery-kubeconfig': readFileSync(noPlugin.kubeconfigPath, 'utf8'),
        'recovery-namespace': DR_NS,
        cluster: plugin.name,
        namespace: 'billing-prod',
      });
      expect(r.exitCode).toBe(1);
      expect(r.errors.join('\n')).toContain(
        `Input 'recovery-kubeconfig': the recovery cluster ${noPlugin.apiUrl} does not serve barmancloud.cnpg.io: the Barman Cloud plugin is not installed there`,
      );
      expect(noPlugin.requestLog.entries().filter((e) => e.time >= since && e.method !== 'GET')).toEqual([]);
    } finally {
      await noPlugin.stop();
      await plugin.destroy();
    }
  }, 240_000);

  it('a recovery-context that is not in the kubeconfig', async () => {
    const r = await runDrill(pair.live, { ...inputs(), 'recovery-context': 'dr-site' });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(
      "Input 'recovery-context': no context 'dr-site' in the recovery-kubeconfig; contexts: playground.",
    );
  }, 60_000);
});
