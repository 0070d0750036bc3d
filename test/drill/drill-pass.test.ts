// The drill passes where it should: both backup modes, writes after the base backup restored,
// no false alarm under ongoing writes, a restore point, the history record, no secret leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { leakedSecrets } from '../helpers/run-action.js';
import { explain, leftovers, runDrill } from './support.js';
import type { Cluster } from '../../actions/lib/cnpg/types.js';

let pgd: PlaygroundHandle;
let live: LiveCluster;

beforeAll(async () => {
  pgd = await startPlayground();
  live = await createLiveCluster(pgd, { name: 'shop', mode: 'in-tree', rows: 2000, rowsAfterBackup: 321 });
});
afterAll(async () => {
  await pgd?.stop();
});

describe('healthy drills', () => {
  it('in-tree: passes, restores the writes after the base backup, measures RTO/RPO, tears down', async () => {
    // Tolerance 0 and floor 0: every table must match live exactly, the 321 post-backup orders included.
    const r = await runDrill(pgd, {
      cluster: 'shop',
      namespace: 'default',
      'row-count-tolerance': 0,
      'row-count-floor': 0,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    const name = r.outputs['recovery-cluster'];
    expect(name).toMatch(/^shop-drill-\d+-1$/);
    expect(r.state['recovery-cluster']).toBe(name);
    expect(Number(r.outputs['rto-seconds'])).toBeGreaterThan(0);
    expect(r.outputs['rpo-seconds']).not.toBe('');
    expect(Number(r.outputs['tables-compared'])).toBe(4);
    expect(r.outputs['schema-differences']).toBe('0');
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    expect(r.outputs['backup-id']).toMatch(/^\d{8}T\d{6}$/);
    // 2000 sample orders + 321 written after the backup, compared exactly (floor 0, tolerance 0).
    expect(r.stdout).toMatch(/live app: 4 tables/);
    expect(r.summary.split('\n')[0]).toContain('Restore drill PASSED: default/shop');
    // Quiet runner logs: no Node deprecation warning (url.parse, punycode) from the bundle's dependencies.
    expect(r.stderr).not.toMatch(/DeprecationWarning/);
    expect(r.summary).toContain('### Backup inventory');
    expect(r.summary).toContain('### Phase timings');
    expect(leftovers(pgd, 'default', name)).toEqual([]);
    expect(leakedSecrets(r, live.secrets())).toEqual([]);
    console.log(
      `in-tree drill: ${r.durationMs} ms, RTO ${r.outputs['rto-seconds']} s, RPO ${r.outputs['rpo-seconds']} s / ${r.outputs['rpo-bytes']} B`,
    );
  });
});

describe('more healthy drills', () => {
  it('plugin mode: passes through the ObjectStore with an explicit server name', async () => {
    const plug = await createLiveCluster(pgd, { name: 'plug', mode: 'plugin', rows: 500, rowsAfterBackup: 77 });
    try {
      const r = await runDrill(pgd, { cluster: 'plug', namespace: 'default', 'record-history': false });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.outputs.result).toBe('passed');
      expect(r.stdout).toContain("backup mode plugin, server name 'plug'");
      expect(r.summary).toContain('| **Backup mode** | plugin |');
      expect(r.summary).toMatch(
        /Recovery window \(from ObjectStore plug-store status\.serverRecoveryWindow\["plug"\]\):[\s\S]*\| \*\*First recoverability point\*\* \| \d{4}-\d\d-\d\dT/,
      );
      expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
      expect(pgd.store.get('v1/configmaps', 'default', 'cnpg-restore-drill-plug')).toBeUndefined();
    } finally {
      await plug.destroy();
    }
  });

  it('no false alarm while a writer keeps inserting during the drill (tolerance absorbs it)', async () => {
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        await live.sql(`INSERT INTO public.orders (customer_id, amount) VALUES (1, 9.99)`);
        written++;
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      // Default tolerance (10 %, floor 10): orders has ~2,300 rows, the writer adds 2 per second.
      const r = await runDrill(pgd, { cluster: 'shop', namespace: 'default', 'live-counts': 'exact' });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(r.outputs.result).toBe('passed');
      expect(written).toBeGreaterThan(10);
      console.log(
        `ongoing writes: ${written} rows written during the drill; RPO ${r.outputs['rpo-seconds']} s / ${r.outputs['rpo-bytes']} B\n${r.summary}`,
      );
    } finally {
      stop = true;
      await writer;
    }
  });

  it('restore point: recovers exactly to the marker, RPO measured as zero, history recorded', async () => {
    await live.writeRows(10);
    const r = await runDrill(pgd, {
      cluster: 'shop',
      namespace: 'default',
      'restore-point': true,
      'row-count-tolerance': 0,
      'row-count-floor': 0,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/restore point 'shop-drill-\d+-1' created at/);
    expect(r.summary).toMatch(/\| \*\*Recovery target\*\* \| [^|\n]*restore point 'shop-drill-\d+-1' at /);
    expect(r.outputs['rpo-seconds']).toBe('0');
    const cm = pgd.store.get('v1/configmaps', 'default', 'cnpg-restore-drill-shop')!;
    expect(cm.metadata.labels).toMatchObject({
      'cnpg-actions.io/drill-history-of': 'shop',
      'app.kubernetes.io/managed-by': 'cnpg-restore-drill',
    });
    const drills = JSON.parse(cm.data.drills);
    expect(drills.length).toBeGreaterThanOrEqual(2);
    expect(drills.at(-1)).toMatchObject({
      verdict: 'passed',
      reasons: [],
      recoveryCluster: r.outputs['recovery-cluster'],
      rpoSeconds: 0,
      backupId: r.outputs['backup-id'],
      runUrl: expect.stringContaining('/actions/runs/'),
    });
    expect(drills.at(-1).rtoSeconds).toBeGreaterThan(0);
  });

  it('several databases, credentials from KUBECONFIG (no kubeconfig input)', async () => {
    await live.superSql('CREATE DATABASE inventory');
    await live.superSql(
      "CREATE TABLE stock (sku text PRIMARY KEY, qty int NOT NULL); INSERT INTO stock SELECT 'sku' || g, g FROM generate_series(1, 250) g",
      [],
      'inventory',
    );
    await live.switchWalAndWait();
    const r = await runDrill(
      pgd,
      {
        cluster: 'shop',
        namespace: 'default',
        kubeconfig: undefined,
        databases: 'app, inventory',
        'record-history': false,
      },
      { env: { KUBECONFIG: pgd.kubeconfigPath } },
    );
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs['tables-compared']).toBe('5');
    expect(r.summary).toContain(
      '### Database `inventory`: 1 tables compared, 0 schema differences, 0 out of tolerance',
    );
    expect(r.summary).toContain('| public.stock | 250 | count(*) on the primary | 250 | 0 | 25 |  |');
  });

  it('the live session is read-only: a write is rejected', async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const { makeClients } = await import('../../actions/lib/kube/client.js');
    const { connectToPrimary } = await import('../../actions/lib/postgres/cluster-connection.js');
    const { ReadOnlyDb } = await import('../../actions/lib/postgres/readonly.js');
    const kc = new KubeConfig();
    kc.loadFromFile(pgd.kubeconfigPath);
    const clients = makeClients(kc);
    const cluster = (await clients.custom.getNamespacedCustomObject({
      group: 'postgresql.cnpg.io',
      version: 'v1',
      namespace: 'default',
      plural: 'clusters',
      name: 'shop',
    })) as Cluster;
    const conn = await connectToPrimary({ setSecret: () => {} }, clients, cluster, { mode: 'port-forward' });
    const db = new ReadOnlyDb(conn.conn, { statementTimeoutMs: 5000 });
    try {
      const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM public.customers');
      expect(Number(n)).toBe(400);
      await expect(db.query(`INSERT INTO public.customers (name) VALUES ('x')`)).rejects.toThrow(
        /read-only transaction/,
      );
      await expect(db.query(`CREATE TABLE public.nope (i int)`)).rejects.toThrow(/read-only transaction/);
    } finally {
      await db.close();
      await conn.close();
    }
  });
});
