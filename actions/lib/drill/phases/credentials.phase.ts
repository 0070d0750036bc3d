// Preflight: the credentials outlive the drill (kube/credentials.ts), the live cluster's and, at a
// recovery site in another cluster, that site's. A credential that expires before the worst case
// (limits.ts) shortens the `timeout` deadline so teardown still has it, or, with
// `on-short-credentials: fail` or too little time left, refuses before anything is created.
import { KubeConfig } from '@kubernetes/client-node';
import type { Core } from '../../core.js';
import { InputError } from '../../inputs.js';
import { credentialLifetime, planForCredentials } from '../../kube/credentials.js';
import type { DrillInputs } from '../inputs.js';
import { drillWorstCaseMs } from '../limits.js';
import { definePhase } from '../pipeline.js';

/** A shortened drill still needs time to restore something. */
export const MIN_DRILL_TIMEOUT_MS = 5 * 60_000;
/** Between the worst case's end and the expiry: clock skew, the post step's re-check. */
export const CREDENTIAL_MARGIN_MS = 60_000;

type CredentialInputs = Pick<
  DrillInputs,
  'timeoutMs' | 'onShortCredentials' | 'statementTimeoutMs' | 'sameMomentWaitMs' | 'restorePoint'
>;

export const checkCredentials = definePhase({
  name: 'credentials',
  needs: [],
  // Every later deadline reads the timeout this gives (wait-recovery, compare, verify, ...), not the input.
  gives: ['timeoutMs', 'credentialNotes'],
  reads: ['timeoutMs', 'onShortCredentials', 'statementTimeoutMs', 'sameMomentWaitMs', 'restorePoint'],
  async run({ core, inputs, kubeconfig, site, give }) {
    const checked = { timeoutMs: inputs.timeoutMs, credentialNotes: [] as string[] };
    try {
      await checkKubeconfig(core, inputs, checked, kubeconfig, 'kubeconfig');
      if (site?.remote && site.kubeconfig)
        await checkKubeconfig(core, inputs, checked, site.kubeconfig, 'recovery-kubeconfig');
    } finally {
      give(checked);
    }
    return checked;
  },
});

async function checkKubeconfig(
  core: Pick<Core, 'info' | 'warning'>,
  inputs: CredentialInputs,
  checked: { timeoutMs: number; credentialNotes: string[] },
  text: string,
  input: string,
): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  const life = await credentialLifetime(kc).catch((err: Error) => {
    throw new InputError(input, `${err.message} Fix the plugin or its credentials, then run again.`);
  });
  const plan = planForCredentials(life, {
    now: Date.now(),
    worstCaseMs: (timeoutMs) => drillWorstCaseMs({ ...inputs, timeoutMs }),
    timeoutMs: checked.timeoutMs,
    minTimeoutMs: MIN_DRILL_TIMEOUT_MS,
    policy: inputs.onShortCredentials,
    marginMs: CREDENTIAL_MARGIN_MS,
  });
  if (plan.action === 'refuse') throw new InputError(input, plan.message);
  if (plan.action === 'ok') return core.info(`credentials (${input}): ${plan.message}`);
  core.warning(`credentials (${input}): ${plan.message}`);
  checked.credentialNotes.push(plan.message);
  checked.timeoutMs = plan.timeoutMs;
}
