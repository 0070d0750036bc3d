// Verifies what the full read read (verify.ts): amcheck on each restored database (installed
// there: the restore is disposable; live is never written), then the data checksum state and
// the page checksum failures counted while the restore was read. Findings are reasons.
import { installAmcheck, verifyRestore, type Verification } from '../../postgres/verify.js';
import type { Session } from '../sessions.js';
import { definePhase, growingList } from '../pipeline.js';

export const verify = definePhase({
  name: 'verify',
  title: 'verify the restore',
  needs: ['restoredSessions', 'created', 'timeoutMs'],
  // Its findings (reasons) are read from `verifications` (result.ts drillResult).
  gives: ['verifications'],
  reads: ['verify', 'statementTimeoutMs', 'countConcurrency'],
  async run({ inputs, log, signal, give }, { restoredSessions, created, timeoutMs }) {
    const deadline = created + timeoutMs;
    // Each database's verification given as it is made: a cancelled verify still reports those done.
    const verifications = growingList<Verification>((list) => give({ verifications: list }));
    for (const s of restoredSessions) verifications.add(await verifyOne(s));
    return { verifications: verifications.list };

    async function verifyOne(s: Session): Promise<Verification> {
      const amcheck =
        inputs.verify === 'off' ? undefined : await installAmcheck(s.conn.conn, inputs.statementTimeoutMs);
      const v = await verifyRestore(s.db, s.database, amcheck, {
        mode: inputs.verify,
        concurrency: inputs.countConcurrency,
        log,
        signal,
        deadline,
      });
      const checked =
        inputs.verify === 'off'
          ? 'amcheck off'
          : `${v.relations.length} relations checked with amcheck ${v.amcheckVersion}`;
      const checksums = v.checksums.enabled ? `on, ${v.checksums.failures ?? 0} failure(s)` : 'off';
      log(`restore ${s.database}: ${checked}, data checksums ${checksums}`);
      if (v.note) log(`restore ${s.database}: ${v.note}`);
      return v;
    }
  },
});
