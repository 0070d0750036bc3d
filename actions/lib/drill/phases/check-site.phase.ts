// Preflight at a sandbox or recovery site (recovery-site.ts): the namespace exists, the CNPG
// operator's API (and the Barman Cloud plugin's in plugin mode) is served, the credentials may do
// every verb the drill needs there. A failure is a usage error: nothing is created anywhere.
import { BARMAN_CLOUD_PLUGIN } from '../../cnpg/types.js';
import { definePhase } from '../pipeline.js';
import { checkRecoverySite } from '../recovery-site.js';
import { restoreConnectionMode } from '../sessions.js';
import { planCopies } from '../recovery-copies.js';

export const checkSite = definePhase({
  name: 'check-site',
  title: 'check the recovery site',
  needs: ['live'],
  gives: [],
  reads: ['connectionMode', 'recordHistory'],
  when: ({ site }) => !site.sameNamespace || 'the recovery runs in the live namespace',
  async run({ inputs, site, retry }, { live }) {
    const plugin = (live.spec.plugins ?? []).some((p) => p.name === BARMAN_CLOUD_PLUGIN);
    await checkRecoverySite(
      site,
      {
        plugin,
        portForward: restoreConnectionMode(inputs.connectionMode, site) === 'port-forward',
        recordHistory: inputs.recordHistory,
        configMaps: planCopies(undefined, undefined, live.spec).configMaps.length > 0,
        serviceAccount: !!live.spec.serviceAccountName,
      },
      retry,
    );
  },
});
