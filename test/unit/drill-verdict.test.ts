// The drill's three outcomes, without a cluster: errors classified once (errors.ts), a fault found
// before an error still fails the backup, soak-gate-check reads an error as no new evidence, and
// Slack hears an error (slack-on: failure) with what to do.
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyError, errorStack, VerdictError } from '../../actions/lib/errors.js';
import { InputError } from '../../actions/lib/inputs.js';
import { readDrillInputs, readSlackInputsLeniently } from '../../actions/lib/drill/inputs.js';
import { Cancelled, settleFailure } from '../../actions/lib/drill/pipeline.js';
import type { DrillResult } from '../../actions/lib/drill/result.js';
import { createContext } from '../../actions/lib/drill/run.js';
import { drillResult } from '../../actions/lib/drill/result.js';
import { drillSlackMessage, shouldNotify } from '../../actions/lib/drill/slack.js';
import { checksNotEvaluated } from '../../actions/lib/drill/content-report.js';
import type { DrillRecord } from '../../actions/lib/contracts/drill-record.js';
import { parseHistory } from '../../actions/lib/contracts/drill-record.js';
import { judgeDrill } from '../../actions/lib/soak/drill-record.js';
import type { KubeClients } from '../../actions/lib/kube/client.js';
import { recordingCore } from '../helpers/recording-core.js';
import { RecoveryCannotStart } from '../../actions/lib/drill/wait.js';

const api = (code: number) => new ApiException(code, 'x', JSON.stringify({ message: 'no' }), {});
const pgError = (code: string) => Object.assign(new Error('pg'), { code });

describe('classifyError: one place, by the first cause that tells', () => {
  it.each([
    ['an input error', new InputError('verify', "'x' is not one of: amcheck"), 'input'],
    ['a 401', api(401), 'unauthorized'],
    [
      'a 401 wrapped by checkReachable',
      new Error('Cannot reach the Kubernetes API', { cause: api(401) }),
      'unauthorized',
    ],
    ['a 403 wrapped', new Error('Cannot read Cluster', { cause: api(403) }), 'forbidden'],
    ['a 404', api(404), 'not-found'],
    ['a recovery that cannot start (its ServiceAccount is missing)', new RecoveryCannotStart('no pod'), 'environment'],
    ['a 422', api(422), 'rejected'],
    ['a 503', api(503), 'unreachable'],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
      'unreachable',
    ],
    ['PostgreSQL password authentication failed', pgError('28P01'), 'unauthorized'],
    ['PostgreSQL permission denied', pgError('42501'), 'forbidden'],
    ['a statement timeout', pgError('57014'), 'timeout'],
    ['a cancellation', new Cancelled('SIGTERM'), 'cancelled'],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'rows')"), 'internal'],
    [
      'a TypeError under a message',
      new Error('compare failed', { cause: new TypeError('x is not a function') }),
      'internal',
    ],
    ['a thrown string', 'boom', 'internal'],
    ['a plain Error naming a state', new Error('instance pg-1 is not a replica any more'), 'environment'],
  ])('%s', (_what, err, kind) => {
    const c = classifyError(err);
    expect(c.kind).toBe(kind);
    expect(c.fix.length).toBeGreaterThan(20);
  });

  it('the stack of an error and its causes', () => {
    const s = errorStack(new Error('outer', { cause: new TypeError('inner') }));
    expect(s).toMatch(/^Error: outer\n\s+at /);
    expect(s).toMatch(/\nCaused by: TypeError: inner\n\s+at /);
  });
});

function context() {
  const { core, rec } = recordingCore({ cluster: 'pg-main', namespace: 'db' });
  const ctx = createContext({
    core,
    inputs: readDrillInputs(core),
    clients: {} as KubeClients,
    signal: new AbortController().signal,
    env: {},
    kubeconfig: '',
  });
  return { ctx, rec };
}

describe('settleFailure: failed is the backup, error is the drill', () => {
  it('a VerdictError is reasons; a TypeError is an error with its stack in a collapsed group', () => {
    const { ctx, rec } = context();
    settleFailure(ctx, new VerdictError(['no completed backup']));
    expect(drillResult(ctx).reasons).toEqual(['no completed backup']);
    expect(drillResult(ctx).error).toBeUndefined();
    const other = context();
    settleFailure(other.ctx, new TypeError('x.y is undefined'));
    expect(drillResult(other.ctx).reasons).toEqual([]);
    expect(drillResult(other.ctx).error).toMatchObject({ kind: 'internal', message: 'x.y is undefined' });
    expect(other.rec.logs[0]).toEqual({ level: 'group', message: 'Stack trace (drill error: internal)' });
    expect(other.rec.logs[1].message).toMatch(/^TypeError: x.y is undefined\n/);
    expect(rec.logs).toEqual([]);
  });

  it('a fault found before the crash still fails the backup; the crash is a note', () => {
    const { ctx } = context();
    const fault = 'database app: 1 table(s) out of row-count tolerance';
    ctx.facts.comparison = { databases: [], reasons: [fault], notes: [] };
    settleFailure(ctx, new TypeError('boom'));
    expect(drillResult(ctx).reasons).toEqual([fault]);
    expect(drillResult(ctx).error).toBeUndefined();
    expect(drillResult(ctx).notes[0]).toMatch(/^The drill stopped after finding the faults above: boom \(internal; /);
  });
});

const H = 3_600_000;
const now = new Date('2026-12-07T12:00:00Z');
const entry = (hoursAgo: number, verdict: DrillRecord['verdict'], reasons: string[] = []): DrillRecord => ({
  time: new Date(now.getTime() - hoursAgo * H).toISOString(),
  verdict,
  reasons,
  rtoSeconds: null,
  rpoSeconds: null,
  backupId: null,
  recoveryCluster: 'r',
  runUrl: null,
});

describe('soak-gate-check reads a drill error as no new evidence', () => {
  it('an error after a pass: the pass still decides (fresh: passed; stale: stale)', () => {
    const j = judgeDrill([entry(5, 'passed'), entry(1, 'error', ['internal: boom'])], now, 24 * H);
    expect(j).toMatchObject({ passed: true, latest: { verdict: 'passed' } });
    expect(j.errorsSince).toHaveLength(1);
    expect(judgeDrill([entry(30, 'passed'), entry(1, 'error')], now, 24 * H).problem).toBe(
      'latest passing drill is stale',
    );
  });
  it('an error after a failure does not clear it; errors alone are no drill', () => {
    expect(judgeDrill([entry(5, 'failed', ['rows lost']), entry(1, 'error')], now, 24 * H).problem).toBe(
      'latest drill failed: rows lost',
    );
    expect(judgeDrill([entry(1, 'error'), entry(0, 'error')], now, 24 * H)).toMatchObject({
      passed: false,
      problem: 'no drill in the record (2 drill error(s), which judge nothing)',
    });
  });
  it('the record format keeps error entries', () => {
    expect(parseHistory(JSON.stringify([entry(1, 'error')])).map((e) => e.verdict)).toEqual(['error']);
  });
});

describe('a user check that could not be evaluated', () => {
  const check = (name: string, status: 'passed' | 'failed' | 'error') =>
    ({ name, database: 'app', kind: 'expect', status, detail: `${name} detail` }) as const;
  it('makes a drill with no fault an error naming each check, never a pass', () => {
    expect(checksNotEvaluated([check('ok', 'passed')])).toBeUndefined();
    expect(checksNotEvaluated(undefined)).toBeUndefined();
    expect(checksNotEvaluated([check('ok', 'passed'), check('slow', 'error')])).toMatchObject({
      kind: 'environment',
      message: "1 user check(s) could not be evaluated: 'slow' (database app): slow detail",
    });
  });
});

describe('Slack hears an error', () => {
  const errored: DrillResult = {
    verdict: 'error',
    error: { kind: 'forbidden', message: 'Cannot read Cluster db/pg: HTTP 403', fix: 'grant it' },
    reasons: [],
    cluster: 'pg',
    namespace: 'db',
    phases: [],
    tolerance: { tolerance: 0.1, floor: 10 },
    databases: [],
    notes: [],
    startedAt: '2026-12-07T06:00:00Z',
  };
  // A bad input stops the reading of the rest: Slack is read again on its own, with action.yml's
  // defaults for what the step left empty (as the runner fills them), so an input error still alerts.
  it('a bad or an empty slack-on reads as its default (failure), so input errors still alert', () => {
    const hook = 'https://hooks.slack.test/services/T1/B1/x';
    for (const on of ['', 'failures']) {
      const { core } = recordingCore({ 'slack-webhook-url': hook, 'slack-on': on });
      expect(readSlackInputsLeniently(core)).toMatchObject({ on: 'failure', webhookUrl: hook, preview: false });
    }
  });
  it('slack-on failure posts errors too; never never', () => {
    expect(shouldNotify('failure', 'error')).toBe(true);
    expect(shouldNotify('failure', 'passed')).toBe(false);
    expect(shouldNotify('never', 'error')).toBe(false);
  });
  it('says it is not a failed backup, what happened and what to do', () => {
    const m = drillSlackMessage(errored, 'production');
    expect(m.text).toBe(
      ':warning: Restore drill error: production · db/pg: Cannot read Cluster db/pg: HTTP 403 — grant it',
    );
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain('the drill could not judge the backup (forbidden): not a failed backup');
    expect(blocks).toContain('*What to do*\\ngrant it');
  });
});
