// The drill's metrics as text (prom-client's exposition format): labels, NaN for what was not
// measured, no last success from a failed drill unless carried over, the textfile's carry-over.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drillRegistry, textfileLastSuccess, writeTextfile } from '../../actions/lib/drill/metrics.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { readDrillInputs } from '../../actions/lib/drill/inputs.js';
import { recordingCore } from '../helpers/recording-core.js';

const base = {
  reasons: [],
  cluster: 'pg',
  namespace: 'db',
  phases: [{ phase: 'create the recovery cluster', ms: 1500 }],
  tolerance: { tolerance: 0.1, floor: 10 },
  databases: [],
  notes: [],
  startedAt: '2026-12-07T00:00:00Z',
} satisfies Partial<DrillResult>;
const passed: DrillResult = {
  ...base,
  verdict: 'passed',
  rtoSeconds: 42,
  rpo: { seconds: 2, bytes: 4096, explanation: '' },
};
const failed: DrillResult = { ...base, verdict: 'failed', reasons: ['backup too old'] };
const now = new Date('2026-12-07T06:00:00Z');
const at = now.getTime() / 1000;

describe('drill metrics', () => {
  it('a passing drill: result, RTO, RPO, phases and the last success, labelled by cluster and namespace', async () => {
    const text = await drillRegistry(passed, now).metrics();
    const l = 'cluster="pg",namespace="db"';
    expect(text).toContain(`cnpg_restore_drill_last_run_timestamp_seconds{${l}} ${at}`);
    expect(text).toContain(`cnpg_restore_drill_last_success_timestamp_seconds{${l}} ${at}`);
    expect(text).toContain(`cnpg_restore_drill_result{${l},result="passed"} 1`);
    expect(text).toContain(`cnpg_restore_drill_result{${l},result="error"} 0`);
    expect(text).toContain(`cnpg_restore_drill_rto_seconds{${l}} 42`);
    expect(text).toContain(`cnpg_restore_drill_rpo_bytes{${l}} 4096`);
    expect(text).toContain(`cnpg_restore_drill_phase_duration_seconds{${l},phase="create the recovery cluster"} 1.5`);
  });

  it('a failed drill: no last success of its own, NaN for the unmeasured; the textfile carries one over', async () => {
    const text = await drillRegistry(failed, now).metrics();
    expect(text).not.toContain('cnpg_restore_drill_last_success_timestamp_seconds{');
    // prom-client writes NaN as 'Nan'; Prometheus parses it case-insensitively (test/metrics proves the scrape).
    expect(text).toMatch(/^cnpg_restore_drill_rto_seconds\{cluster="pg",namespace="db"\} NaN$/im);
    const file = join(mkdtempSync(join(tmpdir(), 'metrics-')), 'drill.prom');
    await writeTextfile(file, drillRegistry(passed, new Date(1000_000)));
    expect(textfileLastSuccess(file, { cluster: 'pg', namespace: 'db' })).toBe(1000);
    expect(textfileLastSuccess(file, { cluster: 'other', namespace: 'db' })).toBeUndefined();
    await writeTextfile(file, drillRegistry(failed, now, textfileLastSuccess(file, failed)));
    expect(readFileSync(file, 'utf8')).toContain(
      'cnpg_restore_drill_last_success_timestamp_seconds{cluster="pg",namespace="db"} 1000',
    );
  });

  it('metrics-pushgateway-url must be an http(s) URL', () => {
    const read = (url: string) => () =>
      readDrillInputs(recordingCore({ cluster: 'pg', namespace: 'db', 'metrics-pushgateway-url': url }).core);
    expect(read('pushgateway:9091')).toThrow(
      /Input 'metrics-pushgateway-url': 'pushgateway:9091' is not an http\(s\) URL/,
    );
    expect(read('http://pushgateway:9091')().metrics).toEqual({ pushgatewayUrl: 'http://pushgateway:9091' });
  });
});
