// The live cluster's backups and WAL archiving (inventory.ts): problems there fail the drill
// before anything is created.
import { describeError, VerdictError } from '../../errors.js';
import { assessInventory, listBackupRows, readArchiver } from '../inventory.js';
import { definePhase } from '../pipeline.js';
import { recoveryWindow } from '../window.js';

export const inventory = definePhase({
  name: 'inventory',
  title: 'backup inventory',
  needs: ['live', 'liveSessions', 'spec', 'store'],
  gives: ['inventory'],
  async run({ inputs, clients, retry, result }, { live, liveSessions, spec, store }) {
    const rows = await listBackupRows(clients, inputs.namespace, inputs.cluster, retry);
    result.window = recoveryWindow(live, spec.mode, store, spec.serverName, rows);
    const archiver = await readArchiver(liveSessions[0].db).catch((err) => {
      result.notes.push(`could not read pg_stat_archiver: ${describeError(err)}`);
      return undefined;
    });
    const inv = assessInventory(rows, live, archiver, { now: new Date(), maxBackupAgeMs: inputs.maxBackupAgeMs });
    result.inventory = inv;
    result.backupId = inv.newest?.backupId;
    if (inv.problems.length) throw new VerdictError(inv.problems);
    return { inventory: inv };
  },
});
