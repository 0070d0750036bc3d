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
  gives: ['inventory', 'window', 'inventoryNotes'],
  reads: ['namespace', 'cluster', 'maxBackupAgeMs'],
  async run({ inputs, clients, retry, give }, { live, liveSessions, spec, store }) {
    const rows = await listBackupRows(clients, inputs.namespace, inputs.cluster, retry);
    const window = recoveryWindow(live, spec.mode, store, spec.serverName, rows);
    give({ window });
    const inventoryNotes: string[] = [];
    const archiver = await readArchiver(liveSessions[0].db).catch((err) => {
      inventoryNotes.push(`could not read pg_stat_archiver: ${describeError(err)}`);
      return undefined;
    });
    const inv = assessInventory(rows, live, archiver, { now: new Date(), maxBackupAgeMs: inputs.maxBackupAgeMs });
    // Given before its problems stop the drill: the report shows the inventory that failed it.
    const found = { inventory: inv, window, inventoryNotes };
    give(found);
    if (inv.problems.length) throw new VerdictError(inv.problems);
    return found;
  },
});
