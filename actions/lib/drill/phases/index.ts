// The drill's phases in order (the contract is in ../pipeline.ts).
import type { Pipeline } from '../pipeline.js';
import { checkCredentials } from './credentials.js';
import { findLive } from './find-live.js';
import { checkSite } from './check-site.js';
import { readSpec } from './read-spec.js';
import { connectLive } from './connect-live.js';
import { inventory } from './inventory.js';
import { chooseTarget } from './choose-target.js';
import { sweep } from './sweep.js';
import { nameRecovery } from './name-recovery.js';
import { baseline } from './baseline.js';
import { restorePoint } from './restore-point.js';
import { sameMoment } from './same-moment.js';
import { create } from './create.js';
import { waitRecovery } from './wait-recovery.js';
import { compare } from './compare.js';
import { recoveryCheck } from './recovery-check.js';
import { rpo } from './rpo.js';
import { verify } from './verify.js';
import { closeSessions } from './close-sessions.js';
import { teardown } from './teardown.js';
import { settleVerdict, stepStatus } from './verdict.js';
import { record } from './record.js';
import { notify } from './notify.js';
import { metrics } from './metrics.js';
import { outputs } from './outputs.js';
import { report } from './report.js';

export const drillPipeline: Pipeline = {
  preflight: [
    // Until live is known to exist: a failure here is a usage error.
    checkCredentials,
    findLive,
    checkSite,
  ],
  main: [
    // Live: its spec, read-only sessions (and the RPO's mark), backups, the target.
    readSpec,
    connectLive,
    inventory,
    chooseTarget,
    // The recovery site and the recovery's name.
    sweep,
    nameRecovery,
    // Live counted (at one moment when same-moment-wait > 0), the stop chosen (same-moment-wait waits there).
    baseline,
    restorePoint,
    sameMoment,
    // The recovery, measured (RTO).
    create,
    waitRecovery,
    // The restore judged: counts, where it stopped, RPO, amcheck and checksums.
    compare,
    recoveryCheck,
    rpo,
    verify,
  ],
  final: [
    // Always, in order: clean up, then settle, record and tell.
    closeSessions,
    teardown,
    settleVerdict,
    record,
    notify,
    metrics,
    outputs,
    report,
    stepStatus,
  ],
  afterPreflightError: [
    // Nothing created, nothing recorded: tell (Slack per slack-on, metrics, outputs, summary) and fail the step.
    settleVerdict,
    notify,
    metrics,
    outputs,
    report,
    stepStatus,
  ],
};
