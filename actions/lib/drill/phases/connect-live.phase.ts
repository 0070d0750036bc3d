// One read-only session per database to check on the live primary, and live's WAL position at
// drill start (the RPO's reference, rpo.ts).
import { markLive } from '../rpo.js';
import { definePhase } from '../pipeline.js';
import { openSessions } from '../sessions.js';

export const connectLive = definePhase({
  name: 'connect-live',
  title: 'connect to the live primary',
  needs: ['live', 'databases'],
  gives: ['liveSessions', 'mark'],
  reads: ['connectionMode', 'statementTimeoutMs', 'countConcurrency', 'credentialsSecret'],
  async run(ctx, { live, databases }) {
    const liveSessions = await openSessions(ctx, live, databases, ctx.inputs.credentialsSecret);
    const { conn } = liveSessions[0];
    ctx.log(`connected to primary ${conn.pod} as ${conn.conn.user} (secret ${conn.secretName})`);
    const mark = await markLive(liveSessions[0].db);
    ctx.log(`live at drill start: WAL ${mark.lsn} at ${mark.at}`);
    return { liveSessions, mark };
  },
});
