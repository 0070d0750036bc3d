// The JSON report and its versioned schema: a full result conforms, and the schema rejects what a
// reader could not trust (a wrong verdict, a missing table count, a wrong version).
import { describe, expect, it } from 'vitest';
import { drillReport, REPORT_SCHEMA } from '../../actions/lib/drill/json-report.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { reportProblems } from '../helpers/report-schema.js';

const result: DrillResult = {
  verdict: 'passed',
  reasons: [],
  cluster: 'shop',
  namespace: 'default',
  mode: 'in-tree',
  recoveryCluster: 'shop-drill-1-1',
  recoverySite: { where: 'namespace default', remote: false, objectStore: 's3://b/shop' },
  backupId: '20261207T050000',
  phases: [{ phase: 'create the recovery cluster', ms: 120 }],
  rtoSeconds: 42,
  rpo: { seconds: 3, bytes: 16384, explanation: 'replay ended 3 s behind live' },
  target: { kind: 'latest', describe: 'latest', judged: true, judging: 'exact' },
  tolerance: { tolerance: 0.1, floor: 10 },
  databases: [
    {
      database: 'app',
      tablesCompared: 1,
      schemaDifferences: [],
      outOfTolerance: [],
      counts: [{ schema: 'public', table: 'orders', live: 5, other: 5, allowed: 0, within: true }],
      liveCounted: { on: 'primary', exact: 1, nLiveTup: 0, reltuples: 0 },
      restoreRead: { tables: 1, failed: 0, ms: 4 },
      notCompared: {
        tables: [
          { schema: 'public', table: 'tenants', restored: 3, why: 'row security' },
          { schema: 'public', table: 'cache', why: 'unlogged' },
        ],
        role: 'app',
      },
    },
  ],
  counting: { live: 'exact', liveExactMaxBytes: 268435456, verify: 'amcheck' },
  verifications: [
    { database: 'app', mode: 'amcheck', checksums: { enabled: true, failures: 0 }, relations: [], ms: 9 },
  ],
  teardown: { cluster: 'shop-drill-1-1', clean: true, leftovers: [], ms: 800 },
  notes: [],
  startedAt: '2026-12-07T05:00:00.000Z',
};

describe('JSON report schema v1', () => {
  it('a full report conforms', () => {
    const report = drillReport(result, { command: 'run' });
    expect(report).toMatchObject({ schema: REPORT_SCHEMA, reportVersion: 1, verdict: 'passed' });
    expect(reportProblems(JSON.parse(JSON.stringify(report)))).toEqual([]);
  });

  it('rejects what a reader could not trust', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a report as parsed JSON, edited freely
    const bad = (edit: (r: any) => void) => {
      const r = JSON.parse(JSON.stringify(drillReport(result, { command: 'run' })));
      edit(r);
      return reportProblems(r);
    };
    expect(bad((r) => (r.verdict = 'ok'))).toContainEqual(expect.stringMatching(/^\/verdict must be equal to one of/));
    expect(bad((r) => delete r.result.databases[0].counts[0].within)).toContainEqual(
      expect.stringMatching(/^\/result\/databases\/0\/counts\/0 must have required property 'within'/),
    );
    expect(bad((r) => (r.reportVersion = 2))).toContainEqual(expect.stringMatching(/^\/reportVersion must be equal/));
    expect(bad((r) => (r.result.databases[0].notCompared.tables[1].why = 'empty'))).toContainEqual(
      expect.stringMatching(/^\/result\/databases\/0\/notCompared\/tables\/1\/why must be equal to one of/),
    );
    expect(bad((r) => (r.result.rtoSeconds = -1))).toContainEqual(expect.stringMatching(/^\/result\/rtoSeconds/));
  });
});
