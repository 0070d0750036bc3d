// Read-only credentials for the restore, on a playground whose S3 refuses every write by a read-only
// key (test/playground/s3.ts): in-tree with recovery-credentials-secret next to live, and with the
// Barman Cloud plugin through recovery-object-store in a sandbox under the shipped least-privilege
// Roles, which grant no read of live's own object-store Secret. The S3 log proves the restore read the
// archive with the read-only key alone; the report names the credentials; wrong inputs are refused
// before anything is created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveCluster, OBJECT_STORES, playgroundStore, type LiveCluster } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { leakedSecrets, type RunResult } from '../helpers/run-action.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import {
  applyRbacExample,
  forbidden,
  SA,
  serviceAccountKubeconfig,
  siteLeftovers,
  writesIn,
} from './least-privilege.js';
import { drillClusters, explain, leftovers, runDrill, writes } from './support.js';
import { explainCli, runCli } from '../helpers/run-cli.js';
import { parse } from 'yaml';

const RO = { id: 'ARCHIVE-READONLY', secret: 'archive-readonly-secret-value' };
const RO_SECRET = 'archive-readonly';
const SANDBOX = 'drill-sandbox';
let pgd: PlaygroundHandle;
let ledger: LiveCluster;
let invoices: LiveCluster;

/** The read-only key's Secret, under the key names live's credentials read (playgroundStore). */
function readOnlySecret(namespace: string): void {
  pgd.store.create('v1/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: RO_SECRET, namespace },
    type: 'Opaque',
    stringData: { ACCESS_KEY_ID: RO.id, ACCESS_SECRET_KEY: RO.secret },
  });
}

/** The S3 requests of the restore: which keys read the base backup and the WAL, and what the read-only key was refused. */
function archiveReads(since: number, live: LiveCluster) {
  const prefix = `/${pgd.s3.bucket}/${live.destinationPath.split('/').slice(3).join('/')}/${live.serverName}/`;
  const reqs = pgd.s3.requests(since).filter((r) => r.path.startsWith(prefix));
  const readers = (what: RegExp) =>
    [...new Set(reqs.filter((r) => r.method === 'GET' && what.test(r.path)).map((r) => r.accessKeyId))].sort();
  return {
    baseBackup: readers(/\/base\/.*\/data\.tar/),
    wal: readers(/\/wals\//),
    readOnlyWrites: reqs.filter((r) => r.accessKeyId === RO.id && !['GET', 'HEAD'].includes(r.method)),
  };
}

const credentials = (r: RunResult) =>
  (r.report as { result: { recoverySite?: { credentials?: Record<string, unknown> } } }).result.recoverySite
    ?.credentials;

beforeAll(async () => {
  ensureDrillBundle();
  pgd = await startPlayground({ rbac: true });
  pgd.s3.addReadOnlyKey(RO.id, RO.secret);
  ledger = await createLiveCluster(pgd, { name: 'ledger', namespace: 'finance', rows: 300, rowsAfterBackup: 25 });
  readOnlySecret('finance');
  invoices = await createLiveCluster(pgd, { name: 'invoices', namespace: 'billing', mode: 'plugin', rows: 200 });
  readOnlySecret('billing');
  pgd.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SANDBOX } });
  // The same archive as live's ObjectStore, read with the read-only key.
  pgd.store.create(OBJECT_STORES, {
    apiVersion: 'barmancloud.cnpg.io/v1',
    kind: 'ObjectStore',
    metadata: { name: 'invoices-store-readonly', namespace: 'billing' },
    spec: {
      configuration: {
        ...pgd.store.get(OBJECT_STORES, 'billing', 'invoices-store')!.spec.configuration,
        s3Credentials: {
          accessKeyId: { name: RO_SECRET, key: 'ACCESS_KEY_ID' },
          secretAccessKey: { name: RO_SECRET, key: 'ACCESS_SECRET_KEY' },
        },
      },
    },
  });
}, 300_000);
afterAll(async () => {
  await pgd?.stop();
});

describe('read-only recovery credentials', () => {
  it('in-tree: recovery-credentials-secret restores with the read-only key alone, and the report says so', async () => {
    const since = Date.now();
    const r = await runDrill(pgd, {
      cluster: ledger.name,
      namespace: ledger.namespace,
      'recovery-credentials-secret': RO_SECRET,
      'row-count-tolerance': 0,
      'row-count-floor': 0,
    });
    expect(r.outputs.result, explain(r)).toBe('passed');
    // barman-cloud in the recovery read the base backup and the WAL with the read-only key only, and wrote nothing.
    const reads = archiveReads(since, ledger);
    expect(reads).toEqual({ baseBackup: [RO.id], wal: [RO.id], readOnlyWrites: [] });
    expect(credentials(r)).toEqual({
      source: 'recovery-credentials-secret',
      secrets: ['finance/archive-readonly'],
      describe:
        'Secret finance/archive-readonly (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY), from recovery-credentials-secret, ' +
        `instead of live's Secret finance/${pgd.env.PLAYGROUND_S3_SECRET}`,
    });
    expect(r.summary).toContain(
      '| **Restored with (credentials)** | Secret finance/archive-readonly (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY)',
    );
    expect(leftovers(pgd, ledger.namespace, r.outputs['recovery-cluster'])).toEqual([]);
    expect(leakedSecrets(r, [RO.secret, ...ledger.secrets()])).toEqual([]);
  }, 300_000);

  it('plugin: recovery-object-store in a sandbox, with no read of live’s object-store Secret granted', async () => {
    const kubeconfig = serviceAccountKubeconfig(pgd);
    // backup-creds is the read-only Secret: the Role lets the drill read it, never live's credentials.
    applyRbacExample(pgd, 'cnpg-restore-drill-live-readonly.yaml', {
      databases: invoices.namespace,
      'pg-main-app': `${invoices.name}-app`,
      'backup-creds': RO_SECRET,
    });
    applyRbacExample(pgd, 'cnpg-restore-drill-sandbox.yaml', {});
    const since = Date.now();
    const r = await runDrill(pgd, {
      kubeconfig,
      cluster: invoices.name,
      namespace: invoices.namespace,
      'recovery-namespace': SANDBOX,
      'recovery-object-store': 'invoices-store-readonly',
      'credentials-secret': `${invoices.name}-app`,
    });
    expect(r.outputs.result, explain(r)).toBe('passed');
    const name = r.outputs['recovery-cluster'];
    // What was copied to the sandbox: the read-only ObjectStore and its Secret, nothing of live's credentials.
    const copied = /copied to namespace .* https:\/\/\S+: (.*)/.exec(r.stdout)?.[1];
    expect(copied).toBe(
      `Secret ${SANDBOX}/${name}-${RO_SECRET}, ObjectStore ${SANDBOX}/${name}-invoices-store-readonly`,
    );
    expect(archiveReads(since, invoices)).toEqual({ baseBackup: [RO.id], wal: [RO.id], readOnlyWrites: [] });
    expect(credentials(r)).toMatchObject({
      source: 'recovery-object-store',
      objectStore: 'billing/invoices-store-readonly',
      secrets: ['billing/archive-readonly'],
    });
    expect(r.summary).toContain("instead of live's ObjectStore billing/invoices-store");
    expect(writesIn(pgd, invoices.namespace, since)).toEqual([]);
    expect(forbidden(pgd, since)).toEqual([]);
    expect(siteLeftovers(pgd, SANDBOX, name)).toEqual([]);
  }, 300_000);

  it('status, with only the shipped status ClusterRole bound: the sandbox drill counts for the live cluster', async () => {
    const since = Date.now();
    const live = pgd.store.get('postgresql.cnpg.io/v1/clusters', invoices.namespace, invoices.name)!;
    live.metadata.labels = { ...live.metadata.labels, 'cnpg-actions.io/drill': 'enabled' };
    pgd.store.update('postgresql.cnpg.io/v1/clusters', live);
    // A ServiceAccount of its own, bound to nothing else.
    const sa = { namespace: SA.namespace, name: 'fleet-status' };
    pgd.store.create('v1/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: sa });
    applyRbacExample(pgd, 'cnpg-restore-drill-status.yaml', {});
    pgd.store.create('rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'fleet-status' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cnpg-restore-drill-status' },
      subjects: [{ kind: 'ServiceAccount', ...sa }],
    });
    const kubeconfig = pgd.kubeconfigFor(pgd.mintToken(sa.namespace, sa.name, 3600), 'status');
    const r = await runCli(['status', '--kubeconfig', kubeconfig, '--max-age', '8d', '--json']);
    expect(r.code, explainCli(r)).toBe(0);
    // The record is kept in the sandbox (live is read-only) and names live's namespace.
    expect(JSON.parse(r.stdout).clusters).toContainEqual(
      expect.objectContaining({ namespace: 'billing', cluster: invoices.name, recordedIn: SANDBOX, stale: false }),
    );
    expect(pgd.store.get('v1/configmaps', SANDBOX, `cnpg-restore-drill-billing-${invoices.name}`)).toBeDefined();
    expect(forbidden(pgd, since)).toEqual([]);
  });

  it('CLI plan: the recovery Cluster it prints reads the archive with the read-only credentials', async () => {
    const since = Date.now();
    const quick = ['--kubeconfig', pgd.kubeconfigPath, '--live-counts', 'exact', '--same-moment-wait', '0'];
    const inTree = await runCli(
      ['plan', ...quick, '--namespace', 'finance', '--cluster', ledger.name].concat([
        '--recovery-credentials-secret',
        RO_SECRET,
      ]),
    );
    expect(inTree.code, explainCli(inTree)).toBe(0);
    expect(parse(inTree.stdout).spec.externalClusters[0].barmanObjectStore.s3Credentials).toEqual({
      accessKeyId: { name: RO_SECRET, key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: RO_SECRET, key: 'ACCESS_SECRET_KEY' },
    });
    expect(inTree.stdout).toContain('#   - the archive read with Secret finance/archive-readonly (keys ACCESS_KEY_ID');
    const plugin = await runCli(
      ['plan', ...quick, '--namespace', 'billing', '--cluster', invoices.name].concat([
        '--recovery-object-store',
        'invoices-store-readonly',
        '--recovery-namespace',
        SANDBOX,
      ]),
    );
    expect(plugin.code, explainCli(plugin)).toBe(0);
    const name = parse(plugin.stdout).metadata.name;
    expect(parse(plugin.stdout).spec.externalClusters[0].plugin.parameters.barmanObjectName).toBe(
      `${name}-invoices-store-readonly`,
    );
    expect(plugin.stdout).toContain(
      `#   Secret ${SANDBOX}/${name}-${RO_SECRET} <- billing/${RO_SECRET} (keys ACCESS_KEY_ID`,
    );
    expect(plugin.stdout).toContain(
      `#   ObjectStore ${SANDBOX}/${name}-invoices-store-readonly <- billing/invoices-store-readonly`,
    );
    // Plan writes nothing (access reviews create nothing).
    expect(writes(pgd, since).filter((w) => !w.includes('/selfsubjectaccessreviews'))).toEqual([]);
  }, 300_000);

  const refusals: [string, () => Record<string, string>, RegExp][] = [
    [
      'an ObjectStore for an in-tree cluster',
      () => ({ cluster: ledger.name, namespace: ledger.namespace, 'recovery-object-store': 'invoices-store-readonly' }),
      /Input 'recovery-object-store': Cluster finance\/ledger backs up in-tree .*set recovery-credentials-secret/,
    ],
    [
      'a Secret for a plugin cluster',
      () => ({ cluster: invoices.name, namespace: invoices.namespace, 'recovery-credentials-secret': RO_SECRET }),
      /Input 'recovery-credentials-secret': Cluster billing\/invoices backs up through the Barman Cloud plugin/,
    ],
    [
      'an ObjectStore of another archive',
      () => {
        pgd.store.create(OBJECT_STORES, {
          apiVersion: 'barmancloud.cnpg.io/v1',
          kind: 'ObjectStore',
          metadata: { name: 'other-archive', namespace: 'billing' },
          spec: { configuration: playgroundStore(pgd, 'elsewhere') },
        });
        return { cluster: invoices.name, namespace: invoices.namespace, 'recovery-object-store': 'other-archive' };
      },
      /ObjectStore billing\/other-archive has destinationPath 's3:\/\/backups\/elsewhere' but live's ObjectStore billing\/invoices-store has 's3:\/\/backups\/invoices-/,
    ],
    [
      'a missing Secret',
      () => ({ cluster: ledger.name, namespace: ledger.namespace, 'recovery-credentials-secret': 'nope' }),
      /Input 'recovery-credentials-secret': Secret finance\/nope does not exist/,
    ],
  ];
  for (const [what, inputs, message] of refusals) {
    it(`refuses ${what} before anything is created`, async () => {
      const i = inputs();
      const since = Date.now();
      const r = await runDrill(pgd, i);
      expect(r.outputs.result, explain(r)).toBe('error');
      expect(r.errors[0]).toMatch(message);
      expect(writes(pgd, since)).toEqual([]);
      expect(drillClusters(pgd, i.namespace)).toEqual([]);
    }, 120_000);
  }
});
