// A drill error is not a failed backup, and every outcome alerts (issue 24, parts 3 and 4):
// - a TypeError in a phase (injected in-process through run()'s pipeline seam, against the real
//   playground): result `error`, its stack in a collapsed log group, recorded as `error`, and
//   soak-gate-check's reading of the record still sees the earlier pass (no new evidence);
// - each preflight failure, run through the bundle: a Slack message (slack-on: failure) that says it
//   is an error, not a failed backup, and names the fix; nothing written;
// - a superuser-owned live table (postInitApplicationSQL) the app role may not read: not compared,
//   with the grant that fixes it; the backup passes; so do an unlogged table (the restore has it
//   empty) and a table under a row-level security policy the drill's role does not bypass.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseHistory, type DrillRecord } from '../../actions/lib/contracts/drill-record.js';
import { drillPipeline } from '../../actions/lib/drill/phases/index.js';
import type { AnyPhase, Pipeline } from '../../actions/lib/drill/pipeline.js';
import { run } from '../../actions/lib/drill/run.js';
import { judgeDrill, sortByTime } from '../../actions/lib/soak/drill-record.js';
import { drillGate } from '../../actions/lib/soak/gates.js';
import { createLiveCluster, type LiveCluster } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { recordingCore } from '../helpers/recording-core.js';
import { leakedSecrets } from '../helpers/run-action.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { serviceAccountKubeconfig } from './least-privilege.js';
import { drillClusters, explain, leftovers, runDrill, writes } from './support.js';

const H = 3_600_000;
let pgd: PlaygroundHandle;
let live: LiveCluster;
let slack: SlackServer;

beforeAll(async () => {
  ensureDrillBundle();
  // RBAC on: a ServiceAccount's token can be refused (401) or lack a permission (403) as on a real cluster.
  pgd = await startPlayground({ rbac: true });
  live = await createLiveCluster(pgd, { name: 'ledger', rows: 200 });
  slack = await startSlackServer();
}, 300_000);
afterAll(async () => {
  await slack?.close();
  await pgd?.stop();
});
beforeEach(() => void (slack.calls.length = 0));

const history = (cluster: string): DrillRecord[] =>
  parseHistory(pgd.store.get('v1/configmaps', 'default', `cnpg-restore-drill-${cluster}`)?.data?.drills);

describe('a crash of the drill is an error, not a failed backup', () => {
  it('a TypeError in a phase: result error, stack logged in a group, recorded as error, soak not blocked', async () => {
    // An earlier drill passed an hour ago (as the drill records it).
    const passed: DrillRecord = {
      time: new Date(Date.now() - H).toISOString(),
      verdict: 'passed',
      reasons: [],
      rtoSeconds: 30,
      rpoSeconds: 5,
      backupId: 'b1',
      recoveryCluster: 'ledger-drill-1-1',
      runUrl: null,
    };
    pgd.store.create('v1/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cnpg-restore-drill-ledger', namespace: 'default' },
      data: { drills: JSON.stringify([passed]) },
    });
    // The fault: a real TypeError thrown by a phase's own code, through run()'s pipeline seam.
    const crash = (p: AnyPhase): AnyPhase => ({
      ...p,
      run: async () => (undefined as unknown as { rows: number[] }).rows.length,
    });
    const pipeline: Pipeline = {
      ...drillPipeline,
      main: drillPipeline.main.map((p) => (p.name === 'baseline' ? crash(p) : p)),
    };
    const { core, rec } = recordingCore({
      kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8'),
      cluster: 'ledger',
      namespace: 'default',
      'same-moment-wait': '0',
      'slack-webhook-url': `${slack.url}/services/T1/B1/crash`,
    });
    const signals = new EventEmitter() as unknown as Pick<NodeJS.Process, 'once' | 'removeListener'>;
    const result = await run(core, { signals, exit: () => {}, env: {}, pipeline });

    expect(result?.verdict).toBe('error');
    expect(result?.reasons).toEqual([]);
    expect(result?.error).toMatchObject({
      kind: 'internal',
      message: "Cannot read properties of undefined (reading 'rows')",
      fix: expect.stringMatching(/a bug in the drill, not a verdict on the backup/),
    });
    expect(rec.outputs.result).toBe('error');
    // The stack trace, in a collapsed group of its own.
    const g = rec.logs.findIndex((l) => l.level === 'group' && l.message === 'Stack trace (drill error: internal)');
    expect(g).toBeGreaterThanOrEqual(0);
    expect(rec.logs[g + 1].message).toMatch(
      /^TypeError: Cannot read properties of undefined \(reading 'rows'\)\n\s+at /,
    );
    expect(rec.failed).toMatch(/^restore drill error \(internal, the backup was not judged\): Cannot read properties/);
    expect(rec.summary.split('\n')[0]).toBe('## ⚠️ Restore drill ERROR: default/ledger');
    expect(rec.summary).toContain('**The drill could not judge the backup** (internal): this is not a failed backup');
    // Recorded as an error; soak-gate-check reads it as no new evidence: the earlier pass still decides.
    const drills = history('ledger');
    expect(drills.map((d) => d.verdict)).toEqual(['passed', 'error']);
    expect(drills[1].reasons[0]).toBe("internal: Cannot read properties of undefined (reading 'rows')");
    const judgement = judgeDrill(sortByTime(drills), new Date(), 24 * H);
    expect(judgement).toMatchObject({ passed: true, latest: { verdict: 'passed' }, errorsSince: [drills[1]] });
    const gate = drillGate(judgement, 24 * H);
    expect(gate.passed).toBe(true);
    expect(gate.value).toMatch(/1 drill error\(s\) since, not evidence \(newest: internal: Cannot read/);
    // Slack heard it (slack-on: failure), as an error with what to do.
    expect(slack.calls).toHaveLength(1);
    expect(String(slack.calls[0].body.text)).toMatch(/^:warning: Restore drill error: default\/ledger: Cannot read/);
    expect(JSON.stringify(slack.calls[0].body.blocks)).toContain('*What to do*');
    expect(drillClusters(pgd, 'default')).toEqual([]);
  }, 180_000);
});

/** The kubeconfig of the playground's admin with its server or user changed. */
type KubeconfigDoc = { clusters: { cluster: { server: string } }[]; users: { user: { token?: string } }[] };
function editedKubeconfig(base: string, edit: (doc: KubeconfigDoc) => void): string {
  const doc = parseYaml(base) as KubeconfigDoc;
  edit(doc);
  return toYaml(doc);
}

describe('every preflight failure alerts Slack with the fix (through the bundle)', () => {
  const cases: [string, () => Record<string, string>, RegExp, RegExp][] = [
    [
      'a kubeconfig that is not one',
      () => ({ kubeconfig: 'apiVersion: v1\nkind: Secret' }),
      /Input 'kubeconfig': is neither a kubeconfig/,
      /correct the input the message names/,
    ],
    [
      'an expired or invalid token (401)',
      () => ({
        kubeconfig: editedKubeconfig(serviceAccountKubeconfig(pgd, 'expired'), (d) => {
          d.users[0].user.token = 'eyJexpired.token.value';
        }),
      }),
      /Cannot reach the Kubernetes API at .*: HTTP 401/,
      /renew the kubeconfig token or certificate/,
    ],
    [
      'a ServiceAccount without the drill role (403)',
      () => ({ kubeconfig: serviceAccountKubeconfig(pgd, 'norbac') }),
      /Cannot read Cluster default\/ledger: HTTP 403: clusters.postgresql.cnpg.io "ledger" is forbidden/,
      /grant it with the Role in workflows\/rbac\//,
    ],
    [
      'an API server the runner cannot reach',
      () => ({
        kubeconfig: editedKubeconfig(readFileSync(pgd.kubeconfigPath, 'utf8'), (d) => {
          d.clusters[0].cluster.server = 'https://127.0.0.1:9';
        }),
      }),
      /Cannot reach the Kubernetes API at https:\/\/127.0.0.1:9/,
      /check the kubeconfig's server address/,
    ],
    [
      'a renamed cluster',
      () => ({ cluster: 'ledger-v2' }),
      /Input 'cluster': no CNPG Cluster 'ledger-v2' in namespace 'default'/,
      /correct the input the message names/,
    ],
    [
      'a misspelled input value',
      () => ({ verify: 'amchek' }),
      /Input 'verify': 'amchek' is not one of: amcheck, heap, off/,
      /correct the input the message names/,
    ],
  ];
  for (const [what, inputs, message, fix] of cases) {
    it(
      what,
      async () => {
        const since = Date.now();
        const hook = `${slack.url}/services/T1/B1/preflight`;
        const r = await runDrill(pgd, {
          cluster: 'ledger',
          namespace: 'default',
          'slack-webhook-url': hook,
          ...inputs(),
        });
        expect(r.exitCode, explain(r)).toBe(1);
        expect(r.outputs.result).toBe('error');
        expect(r.errors).toHaveLength(1);
        expect(r.errors[0]).toMatch(message);
        expect(r.summary.split('\n')[0]).toMatch(/^## ⚠️ Restore drill ERROR: default\/ledger/);
        expect(r.summary).toMatch(fix);
        expect(slack.calls, explain(r)).toHaveLength(1);
        const text = String(slack.calls[0].body.text);
        expect(text).toMatch(/^:warning: Restore drill error: default\/ledger/);
        expect(text).toMatch(message);
        expect(text).toMatch(fix);
        expect(JSON.stringify(slack.calls[0].body.blocks)).toContain('not a failed backup');
        expect(writes(pgd, since)).toEqual([]);
        expect(leakedSecrets(r, [...live.secrets(), hook])).toEqual([]);
      },
      120_000,
    );
  }

  it('slack-on: never stays silent, and a bad slack-on still alerts (its default, failure)', async () => {
    const hook = `${slack.url}/services/T1/B1/never`;
    const quiet = await runDrill(pgd, {
      cluster: 'gone',
      namespace: 'default',
      'slack-webhook-url': hook,
      'slack-on': 'never',
    });
    expect(quiet.outputs.result).toBe('error');
    expect(slack.calls).toHaveLength(0);
    const bad = await runDrill(pgd, {
      cluster: 'ledger',
      namespace: 'default',
      'slack-webhook-url': hook,
      'slack-on': 'failures',
    });
    expect(bad.errors[0]).toMatch(/Input 'slack-on': 'failures' is not one of: failure, always, never/);
    expect(slack.calls).toHaveLength(1);
  }, 120_000);
});

describe('a live table the drill may not read', () => {
  /** A live cluster whose initdb creates a superuser-owned table of 10000 rows, superuser access off. */
  const lockedCluster = (name: string, extraSql: string[] = []) =>
    createLiveCluster(pgd, {
      name,
      rows: 100,
      spec: {
        enableSuperuserAccess: false,
        bootstrap: {
          initdb: {
            database: 'app',
            owner: 'app',
            postInitApplicationSQL: [
              'CREATE TABLE public.audit_log AS SELECT g AS id FROM generate_series(1, 10000) g',
              ...extraSql,
            ],
          },
        },
      },
    });
  const exactDrill = (cluster: string) =>
    runDrill(pgd, { cluster, namespace: 'default', 'row-count-tolerance': 0, 'row-count-floor': 0 });

  it('superuser-owned (postInitApplicationSQL), superuser access off: not compared, the grant named, passed', async () => {
    const locked = await lockedCluster('audit');
    const r = await exactDrill('audit');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    // The sample tables are compared; audit_log is not, and the report says why and what to grant.
    expect(r.outputs['tables-compared']).toBe('4');
    expect(r.summary).toContain(
      'Not compared (the drill\'s role app may not read them on live): public.audit_log. Grant: `GRANT pg_read_all_data TO "app";`',
    );
    expect(r.summary).toMatch(/1 live table\(s\) not compared, the drill's role app may not read them on live/);
    // Live counted: only what it could read; the restore read in full, audit_log included (and verified).
    expect(r.summary).toContain('Live counted on the primary: 4 exact (count(*))');
    expect(r.summary).toMatch(/Restore read in full: 5 tables counted/);
    expect(leftovers(pgd, 'default', r.outputs['recovery-cluster'])).toEqual([]);
    await locked.destroy();
  }, 300_000);

  it('with the grant the README names (pg_read_all_data), the same table is compared', async () => {
    const granted = await lockedCluster('audit-ok', ['GRANT pg_read_all_data TO app']);
    const r = await exactDrill('audit-ok');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    expect(r.outputs['tables-compared']).toBe('5');
    expect(r.summary).toContain('| public.audit_log | 10000 | count(*) on the primary | 10000 | 0 | 0 |');
    expect(r.summary).not.toContain('Not compared');
    await granted.destroy();
  }, 300_000);

  it('an unlogged table (the restore has it empty) and one under a row-level security policy: not compared, passed', async () => {
    // pg_read_all_data reads both, and does not bypass row security; the policy hides every row from app.
    const c = await lockedCluster('unlogged', [
      'GRANT pg_read_all_data TO app',
      'CREATE UNLOGGED TABLE public.cache AS SELECT g AS k FROM generate_series(1, 500) g',
      'CREATE TABLE public.tenant_rows AS SELECT g AS id FROM generate_series(1, 90) g',
      'ALTER TABLE public.tenant_rows ENABLE ROW LEVEL SECURITY',
      'CREATE POLICY nobody ON public.tenant_rows USING (false)',
    ]);
    const r = await exactDrill('unlogged');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.outputs.result).toBe('passed');
    expect(r.outputs['tables-out-of-tolerance']).toBe('0');
    expect(r.outputs['tables-compared']).toBe('5');
    expect(r.summary).toContain('Not compared: unlogged (PostgreSQL does not restore their contents): public.cache.');
    expect(r.summary).toContain(
      "Not compared: row security applies to the drill's role on live (grant BYPASSRLS or use a role that " +
        'bypasses it): public.tenant_rows.',
    );
    // The unlogged table is in the restore's catalog: no schema difference.
    expect(r.summary).not.toMatch(/missing in restore/);
    await c.destroy();
  }, 300_000);
});
