// Preflight, only with recovery-credentials-secret or recovery-object-store: the recovery reads the
// archive with those instead of live's credentials; a wrong method, a missing Secret, key or
// ObjectStore, or another archive is an input error before anything is created (recovery-credentials.ts).
import { definePhase } from '../pipeline.js';
import { checkRecoveryCredentials } from '../recovery-credentials.js';

export const recoveryCredentials = definePhase({
  name: 'recovery-credentials',
  title: 'check the recovery credentials',
  needs: ['live'],
  gives: ['recoveryCredentials'],
  reads: ['namespace', 'cluster', 'recoveryCredentialsSecret', 'recoveryObjectStore'],
  when: ({ inputs }) =>
    !!(inputs.recoveryCredentialsSecret || inputs.recoveryObjectStore) ||
    "the recovery reads the archive with live's credentials",
  async run({ inputs, clients, retry, log }, { live }) {
    const rc = await checkRecoveryCredentials(clients, inputs, live, retry);
    log(
      rc.input === 'recovery-object-store'
        ? `the recovery reads the archive through ObjectStore ${rc.objectStore.metadata.name} (same archive as live's)`
        : `the recovery reads the archive with Secret ${rc.secret} (every key live's credentials read)`,
    );
    return { recoveryCredentials: rc };
  },
});
