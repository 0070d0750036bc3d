// The drill's phases in order (the contract is in ../pipeline.ts).
import type { Pipeline } from '../pipeline.js';
import { checkCredentials } from './credentials.phase.js';
import { findLive } from './find-live.phase.js';
import { checkSite } from './check-site.phase.js';
import { recoveryCredentials } from './recovery-credentials.phase.js';
import { readSpec } from './read-spec.phase.js';
import { connectLive } from './connect-live.phase.js';
import { inventory } from './inventory.phase.js';
import { chooseTarget } from './choose-target.phase.js';
import { sweep } from './sweep.phase.js';
import { nameRecovery } from './name-recovery.phase.js';
import { baseline } from './baseline.phase.js';
import { restorePoint } from './restore-point.phase.js';
import { sameMoment } from './same-moment.phase.js';
import { create } from './create.phase.js';
import { waitRecovery } from './wait-recovery.phase.js';
import { compare } from './compare.phase.js';
import { recoveryCheck } from './recovery-check.phase.js';
import { rpo } from './rpo.phase.js';
import { verify } from './verify.phase.js';
import { closeSessions } from './close-sessions.phase.js';
import { teardown } from './teardown.phase.js';
import { settleVerdict, stepStatus } from './verdict.phase.js';
import { record } from './record.phase.js';
import { notify } from './notify.phase.js';
import { metrics } from './metrics.phase.js';
import { outputs } from './outputs.phase.js';
import { report } from './report.phase.js';

export const drillPipeline: Pipeline = {
  preflight: [
    // Until live is known to exist: a failure here is a usage error.
    checkCredentials,
    findLive,
    checkSite,
    recoveryCredentials,
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
