// The one reporting path every action's run() ends through (actions/lib/report/outcome.ts).
import { describe, expect, it } from 'vitest';
import { VerdictError } from '../../actions/lib/errors.js';
import { InputError } from '../../actions/lib/inputs.js';
import { failWithError, writeSummary } from '../../actions/lib/report/outcome.js';
import { recordingCore } from '../helpers/recording-core.js';

const errorsOf = (rec: ReturnType<typeof recordingCore>['rec']) =>
  rec.logs.filter((l) => l.level === 'error').map((l) => l.message);

describe('failWithError', () => {
  it('a usage error fails with its one message, no other annotation', () => {
    const { core, rec } = recordingCore();
    failWithError(core, new InputError('cluster', 'is required; set it.'));
    expect(rec.failed).toBe("Input 'cluster': is required; set it.");
    expect(errorsOf(rec)).toEqual([]);
  });

  it('a usage error of many parts annotates each part, then fails with the message', () => {
    const { core, rec } = recordingCore();
    failWithError(
      core,
      new InputError('apps', '2 problem(s) in app.toml files; nothing was changed.', [
        'a/app.toml:1: x',
        'b/app.toml:2: y',
      ]),
    );
    expect(errorsOf(rec)).toEqual(['a/app.toml:1: x', 'b/app.toml:2: y']);
    expect(rec.failed).toBe("Input 'apps': 2 problem(s) in app.toml files; nothing was changed.");
  });

  it('a verdict fails with one line per reason, prefixed; or one annotation per reason and a count line', () => {
    const one = recordingCore();
    failWithError(one.core, new VerdictError(['row counts differ', 'RPO 90 s > 60 s']), { prefix: 'drill failed: ' });
    expect(one.rec.failed).toBe('drill failed: row counts differ\ndrill failed: RPO 90 s > 60 s');
    const each = recordingCore();
    failWithError(each.core, new VerdictError(['shop: x', 'crm: y']), { each: (n) => `${n} change(s) failed` });
    expect(errorsOf(each.rec)).toEqual(['shop: x', 'crm: y']);
    expect(each.rec.failed).toBe('2 change(s) failed');
  });

  it('anything else is a crash, described', () => {
    const { core, rec } = recordingCore();
    failWithError(core, 'boom');
    expect(rec.failed).toBe('boom');
  });
});

describe('writeSummary', () => {
  it('a summary that cannot be written is a warning, not a failure', async () => {
    const { core, rec } = recordingCore();
    core.summary.write = async () => {
      throw new Error('GITHUB_STEP_SUMMARY is not writable');
    };
    await writeSummary(core, '## x');
    expect(rec.logs).toContainEqual({
      level: 'warning',
      message: 'could not write the job summary: GITHUB_STEP_SUMMARY is not writable',
    });
    expect(rec.failed).toBeUndefined();
  });
});
