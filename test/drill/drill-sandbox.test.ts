// recovery-namespace on an RBAC-enforcing playground, with exactly the permissions of
// workflows/rbac/cnpg-restore-drill-live-readonly.yaml + cnpg-restore-drill-sandbox.yaml:
// the drill passes, writes nothing in the live namespace, cleans the sandbox; bad inputs fail
// with one clear error before anything is created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { leakedSecrets } from '../helpers/run-action.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import {
  applyRbacExample,
  forbidden,
  bindToServiceAccount,
  serviceAccountKubeconfig,
  siteLeftovers,
  writesIn,
} from './least-privilege.js';
import { drillClusters, explain, runDrill } from './support.js';

const LIVE_NS = 'payments-prod';
const SANDBOX = 'drill-sandbox';
let pgd: PlaygroundHandle;
let live: LiveCluster;
let saKubeconfig: string;

beforeAll(async () => {
  ensureDrillBundle();
  pgd = await startPlayground({ rbac: true });
  live = await createLiveCluster(pgd, { name: 'orders-db', namespace: LIVE_NS, rows: 400, rowsAfterBackup: 20 });
  pgd.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SANDBOX } });
  saKubeconfig = serviceAccountKubeconfig(pgd);
  applyRbacExample(pgd, 'cnpg-restore-drill-live-readonly.yaml', {
    databases: LIVE_NS,
    'pg-main-app': `${live.name}-app`,
    'backup-creds': pgd.env.PLAYGROUND_S3_SECRET,
  });
  applyRbacExample(pgd, 'cnpg-restore-drill-sandbox.yaml', {});
}, 300_000);
afterAll(async () => {
  await pgd?.stop();
});

describe('recovery-namespace with least privilege', () => {
  it('passes, reads live only, and leaves the sandbox clean (an orphaned copy of a killed run is swept)', async () => {
    const orphan = {
      name: 'orders-db-drill-1234-1-playground-s3',
      labels: {
        'app.kubernetes.io/managed-by': 'cnpg-restore-drill',
        'cnpg-actions.io/drill-of': live.name,
        'cnpg-actions.io/copy-for': 'orders-db-drill-1234-1',
      },
    };
    pgd.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...orphan, namespace: SANDBOX },
      data: { k: 'dg==' },
    });
    await new Promise((r) => setTimeout(r, 2_100));
    const since = Date.now();
    const r = await runDrill(pgd, {
      kubeconfig: saKubeconfig,
      cluster: live.name,
      namespace: LIVE_NS,
      'recovery-namespace': SANDBOX,
      'credentials-secret': `${live.name}-app`,
      'sweep-ttl': '2s',
    });
    expect(r.summary).toContain(
      'swept copies left for a recovery cluster that was never created: orders-db-drill-1234-1',
    );
    expect(pgd.store.get('v1/secrets', SANDBOX, orphan.name)).toBeUndefined();
    expect(r.outputs.result, explain(r)).toBe('passed');
    expect(r.summary).toContain(`namespace ${SANDBOX} of the live Kubernetes cluster`);
    expect(r.summary).toContain(live.destinationPath);
    expect(r.stdout).toMatch(
      new RegExp(
        `copied to namespace ${SANDBOX}.*Secret ${SANDBOX}/${r.outputs['recovery-cluster']}-${pgd.env.PLAYGROUND_S3_SECRET}`,
      ),
    );
    // Nothing written in the live namespace; nothing refused (the Role is exactly enough).
    expect(writesIn(pgd, LIVE_NS, since)).toEqual([]);
    expect(forbidden(pgd, since)).toEqual([]);
    expect(siteLeftovers(pgd, SANDBOX, r.outputs['recovery-cluster'])).toEqual([]);
    expect(drillClusters(pgd, LIVE_NS)).toEqual([]);
    // The record went to the sandbox, not to live.
    // Named and labelled with live's namespace, so status counts it for live (actions/lib/contracts/drill-record.ts).
    const record = pgd.store.get('v1/configmaps', SANDBOX, `cnpg-restore-drill-${LIVE_NS}-${live.name}`);
    expect(record?.metadata.labels).toMatchObject({ 'cnpg-actions.io/drill-history-namespace': LIVE_NS });
    // The copied object-store key is masked the moment it is read.
    expect(r.masked).toContain(pgd.s3.secretAccessKey);
    expect(leakedSecrets(r, live.secrets())).toEqual([]);
  }, 300_000);

  it('plugin mode: the ObjectStore is copied too (credentials retargeted) and removed', async () => {
    const ns = 'billing-prod';
    const plugin = await createLiveCluster(pgd, { name: 'invoices-db', namespace: ns, mode: 'plugin', rows: 200 });
    applyRbacExample(pgd, 'cnpg-restore-drill-live-readonly.yaml', {
      databases: ns,
      'pg-main-app': `${plugin.name}-app`,
      'backup-creds': pgd.env.PLAYGROUND_S3_SECRET,
    });
    const since = Date.now();
    const r = await runDrill(pgd, {
      kubeconfig: saKubeconfig,
      cluster: plugin.name,
      namespace: ns,
      'recovery-namespace': SANDBOX,
      'credentials-secret': `${plugin.name}-app`,
    });
    expect(r.outputs.result, explain(r)).toBe('passed');
    const name = r.outputs['recovery-cluster'];
    expect(r.stdout).toContain(`ObjectStore ${SANDBOX}/${name}-${plugin.name}-store`);
    expect(r.summary).toContain(`(ObjectStore ${ns}/${plugin.name}-store)`);
    expect(writesIn(pgd, ns, since)).toEqual([]);
    expect(forbidden(pgd, since)).toEqual([]);
    expect(siteLeftovers(pgd, SANDBOX, name)).toEqual([]);
  }, 300_000);

  it('the same credentials are refused (403) outside the examples', async () => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromString(saKubeconfig);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const err = (await custom
      .deleteNamespacedCustomObject({
        group: 'postgresql.cnpg.io',
        version: 'v1',
        namespace: LIVE_NS,
        plural: 'clusters',
        name: live.name,
      })
      .catch((e) => e)) as {
      code: number;
      body: string;
    };
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body).message).toBe(
      `clusters.postgresql.cnpg.io "${live.name}" is forbidden: User "system:serviceaccount:ci:cnpg-restore-drill" cannot delete resource "clusters" in API group "postgresql.cnpg.io" in the namespace "${LIVE_NS}"`,
    );
    const core = kc.makeApiClient(k8s.CoreV1Api);
    expect(
      (
        (await core.readNamespacedSecret({ namespace: LIVE_NS, name: `${live.name}-superuser` }).catch((e) => e)) as {
          code: number;
        }
      ).code,
    ).toBe(403);
  });
});

describe('bad recovery-namespace inputs: one clear error, nothing created', () => {
  const expectNothingCreated = (since: number, ns: string) => {
    expect(writesIn(pgd, ns, since)).toEqual([]);
    expect(writesIn(pgd, LIVE_NS, since)).toEqual([]);
  };

  it('the live namespace itself', async () => {
    const since = Date.now();
    const r = await runDrill(pgd, {
      kubeconfig: saKubeconfig,
      cluster: live.name,
      namespace: LIVE_NS,
      'recovery-namespace': LIVE_NS,
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(
      `Input 'recovery-namespace': '${LIVE_NS}' on ${pgd.apiUrl} is the live cluster's own namespace`,
    );
    expect(r.outputs.result).toBe('error');
    expectNothingCreated(since, LIVE_NS);
  }, 120_000);

  it('a namespace that does not exist (admin credentials: 404)', async () => {
    const since = Date.now();
    const r = await runDrill(pgd, { cluster: live.name, namespace: LIVE_NS, 'recovery-namespace': 'no-such-sandbox' });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(
      `Input 'recovery-namespace': namespace 'no-such-sandbox' does not exist on ${pgd.apiUrl}`,
    );
    expectNothingCreated(since, 'no-such-sandbox');
  }, 120_000);

  it('credentials that cannot create there', async () => {
    pgd.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other-team' } });
    const since = Date.now();
    const r = await runDrill(pgd, {
      kubeconfig: saKubeconfig,
      cluster: live.name,
      namespace: LIVE_NS,
      'recovery-namespace': 'other-team',
      'credentials-secret': `${live.name}-app`,
    });
    expect(r.exitCode).toBe(1);
    const msg = r.errors.join('\n');
    expect(msg).toContain(
      "Input 'kubeconfig': the credentials cannot get clusters.postgresql.cnpg.io; list clusters.postgresql.cnpg.io;",
    );
    expect(msg).toContain('create secrets;');
    expect(msg).toContain('in namespace other-team');
    expect(msg).toContain('workflows/rbac/cnpg-restore-drill-sandbox.yaml');
    expectNothingCreated(since, 'other-team');
  }, 120_000);
});

describe('same namespace with exactly workflows/rbac/cnpg-restore-drill.yaml', () => {
  it('passes with no 403 through the ServiceAccount token', async () => {
    // Its ClusterRole cnpg-restore-drill-volumes replaces the sandbox example's of the same name.
    pgd.store.delete('rbac.authorization.k8s.io/v1/clusterroles', undefined, 'cnpg-restore-drill-volumes');
    applyRbacExample(pgd, 'cnpg-restore-drill.yaml', { databases: LIVE_NS });
    bindToServiceAccount(pgd, 'cnpg-restore-drill', LIVE_NS);
    const since = Date.now();
    const r = await runDrill(pgd, {
      kubeconfig: saKubeconfig,
      cluster: live.name,
      namespace: LIVE_NS,
      'credentials-secret': `${live.name}-app`,
    });
    expect(r.outputs.result, explain(r)).toBe('passed');
    expect(forbidden(pgd, since)).toEqual([]);
    expect(drillClusters(pgd, LIVE_NS)).toEqual([]);
  }, 300_000);
});
