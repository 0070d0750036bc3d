// What the recovery needs from the live spec: backup mode, archive, image, storage (live-spec.ts).
// A spec that cannot be drilled is a verdict (LiveSpecError is a VerdictError).
import { getObjectStore } from '../../cnpg/api.js';
import { detectBackupMode, readLiveSpec } from '../live-spec.js';
import { definePhase } from '../pipeline.js';

export const readSpec = definePhase({
  name: 'read-spec',
  title: 'read the live spec',
  needs: ['live'],
  gives: ['mode', 'spec', 'databases', 'store'],
  reads: ['namespace', 'databases'],
  async run({ inputs, clients, retry, log, give }, { live }) {
    const mode = detectBackupMode(live);
    const store =
      mode.mode === 'plugin'
        ? await getObjectStore(clients, inputs.namespace, mode.objectStoreName!, retry)
        : undefined;
    give({ mode: mode.mode });
    const spec = readLiveSpec(live, mode, store);
    log(
      `backup mode ${spec.mode}, server name '${spec.serverName}', archive ${spec.store.destinationPath}, ` +
        `image ${spec.imageName ?? 'from catalog'}, storage ${spec.storage.size}`,
    );
    return { mode: mode.mode, spec, store, databases: inputs.databases.length ? inputs.databases : [spec.database] };
  },
});
