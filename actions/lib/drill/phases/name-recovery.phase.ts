// The recovery cluster's name, once per run: `<cluster>-drill-<run id>-<attempt>` (recovery-manifest.ts).
import { recoveryClusterName } from '../recovery-manifest.js';
import { definePhase } from '../pipeline.js';

export const nameRecovery = definePhase({
  name: 'name-recovery',
  needs: [],
  gives: ['recoveryName'],
  reads: ['cluster'],
  async run({ inputs, env }) {
    return {
      recoveryName: recoveryClusterName(
        inputs.cluster,
        env.GITHUB_RUN_ID || Date.now().toString(36),
        env.GITHUB_RUN_ATTEMPT || '1',
      ),
    };
  },
});
