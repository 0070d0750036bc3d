// The drill's post step: tears down the recovery cluster from saved state alone (state.ts), for a
// main step that was cancelled or killed before its own teardown. Idempotent; nothing saved =
// nothing to do; a teardown main already verified is not repeated.
import type { Core } from '../core.js';
import { makeClients } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { failWithReasons } from '../report/outcome.js';
import { API_REQUEST_MS, EXIT_GRACE_MS, TEARDOWN_MS, TEARDOWN_RETRY } from './limits.js';
import { removeCopies } from './recovery-copies.js';
import { State } from './state.js';
import { teardownCluster } from './teardown.js';
import { describeError } from '../errors.js';

export interface PostDeps {
  /** Ends the process once the step is done (tests pass a no-op). */
  exit?: () => void;
}

export async function runPost(core: Core, deps: PostDeps = {}): Promise<void> {
  try {
    await post(core);
  } finally {
    setTimeout(() => (deps.exit ?? process.exit)(), EXIT_GRACE_MS).unref();
  }
}

async function post(core: Core): Promise<void> {
  const name = core.getState(State.recoveryCluster);
  const namespace = core.getState(State.namespace);
  if (!name || !namespace) return core.info('No recovery cluster was created: nothing to tear down.');
  if (core.getState(State.keep) === 'true')
    return core.warning(`keep-on-failure: recovery cluster ${namespace}/${name} is KEPT; delete it when done.`);
  if (core.getState(State.tornDown) === 'true')
    return core.info(`Recovery cluster ${namespace}/${name}: torn down and verified by the main step; nothing to do.`);
  const kubeconfig = core.getState(State.kubeconfig);
  if (kubeconfig) core.setSecret(kubeconfig);
  try {
    // Empty (state from an older main step): KUBECONFIG as an earlier step set it.
    // A saved kubeconfig has its context applied already (the recovery site's may lack the live `context`).
    const kube = kubeconfig
      ? loadKubeConfig({ setSecret: (v: string) => core.setSecret(v) }, kubeconfig)
      : loadKubeConfig(core, undefined);
    try {
      // State holds the recovery site's namespace and kubeconfig (another cluster's with recovery-kubeconfig).
      const server = kube.kc.getCurrentCluster()?.server;
      const clients = makeClients(kube.kc, API_REQUEST_MS);
      const t = await teardownCluster(clients, namespace, name, {
        deadline: Date.now() + TEARDOWN_MS,
        log: (l) => core.info(l),
      });
      if (core.getState(State.copies) === 'true') {
        t.leftovers.push(
          ...(await removeCopies(clients, namespace, name, {
            objectStores: core.getState(State.objectStoreCopy) === 'true',
            configMaps: core.getState(State.configMapCopy) === 'true',
            retry: TEARDOWN_RETRY,
          })),
        );
        t.clean = t.leftovers.length === 0;
      }
      if (t.clean)
        core.info(`Recovery cluster ${namespace}/${name}: nothing left (verified in ${t.ms} ms, on ${server}).`);
      else failWithReasons(core, [`teardown of ${namespace}/${name} incomplete: ${t.leftovers.join('; ')}`]);
    } finally {
      kube.dispose();
    }
  } catch (err) {
    failWithReasons(core, [`teardown of ${namespace}/${name} failed: ${describeError(err)}`]);
  }
}
