// What the recovery needs from the live spec: backup mode, archive, image, storage (live-spec.ts).
// A spec that cannot be drilled is a verdict (LiveSpecError is a VerdictError). The archive is read with
// the recovery credentials when preflight checked some.
import { getObjectStore } from '../../cnpg/api.js';
import { detectBackupMode, readLiveSpec } from '../live-spec.js';
import { definePhase, given } from '../pipeline.js';
import { withRecoveryCredentials } from '../recovery-credentials.js';

export const readSpec = definePhase({
  name: 'read-spec',
  title: 'read the live spec',
  needs: ['live', 'recoveryCredentials'],
  gives: ['mode', 'spec', 'databases', 'store'],
  reads: ['namespace', 'databases'],
  async run({ inputs, clients, retry, log, give }, { live, recoveryCredentials }) {
    const mode = detectBackupMode(live);
    const store =
      mode.mode === 'plugin'
        ? await getObjectStore(clients, inputs.namespace, mode.objectStoreName!, retry)
        : undefined;
    give({ mode: mode.mode });
    const read = readLiveSpec(live, mode, store);
    const rc = given(recoveryCredentials);
    const spec = rc ? withRecoveryCredentials(read, rc) : read;
    log(
      `backup mode ${spec.mode}, server name '${spec.serverName}', archive ${spec.store.destinationPath}, ` +
        `image ${spec.imageName ?? 'from catalog'}, storage ${spec.storage.size}`,
    );
    return { mode: mode.mode, spec, store, databases: inputs.databases.length ? inputs.databases : [spec.database] };
  },
});
