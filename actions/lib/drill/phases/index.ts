// The drill's phases in order (the contract is in ../pipeline.ts).
import type { Pipeline } from '../pipeline.js';
import { baseline } from './baseline.js';
import { checkSite } from './check-site.js';
import { closeSessions } from './close-sessions.js';
import { compare } from './compare.js';
import { checkCredentials } from './credentials.js';
import { connectLive } from './connect-live.js';
import { create } from './create.js';
import { findLive } from './find-live.js';
import { inventory } from './inventory.js';
import { nameRecovery } from './name-recovery.js';
import { metrics } from './metrics.js';
import { notify } from './notify.js';
import { outputs } from './outputs.js';
import { readSpec } from './read-spec.js';
import { record } from './record.js';
import { report } from './report.js';
import { restorePoint } from './restore-point.js';
import { rpo } from './rpo.js';
import { sweep } from './sweep.js';
import { teardown } from './teardown.js';
import { verify } from './verify.js';
import { settleVerdict, stepStatus } from './verdict.js';
import { waitRecovery } from './wait-recovery.js';
import { chooseTarget } from './choose-target.js';
import { sameMoment } from './same-moment.js';
import { recoveryCheck } from './recovery-check.js';

export const drillPipeline: Pipeline = {
  preflight: [checkCredentials, findLive, checkSite],
  main: [
    readSpec,
    connectLive,
    inventory,
    chooseTarget,
    sweep,
    nameRecovery,
    baseline,
    restorePoint,
    sameMoment,
    create,
    waitRecovery,
    compare,
    recoveryCheck,
    rpo,
    verify,
  ],
  final: [closeSessions, teardown, settleVerdict, record, notify, metrics, outputs, report, stepStatus],
  // Nothing created, nothing recorded: tell (Slack per slack-on, metrics, outputs, summary) and fail the step.
  afterPreflightError: [settleVerdict, notify, metrics, outputs, report, stepStatus],
};
