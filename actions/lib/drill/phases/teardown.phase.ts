// Final: deletes the recovery cluster and verifies nothing of it is left (teardown.ts), unless
// keep-on-failure keeps a failed one. After a cancellation the deadline is the grace window.
import {
  CANCEL_TEARDOWN_MS,
  CANCEL_TEARDOWN_RETRY,
  CREATE_SETTLE_CANCELLED_MS,
  CREATE_SETTLE_MS,
  TEARDOWN_MS,
  TEARDOWN_RETRY,
} from '../limits.js';
import { definePhase, type PhaseContext } from '../pipeline.js';
import { drillReasons, type TornDown } from '../result.js';
import { State } from '../state.js';
import { removeCopies } from '../recovery-copies.js';
import { teardownCluster } from '../teardown.js';
import { describeError } from '../../errors.js';

export const teardown = definePhase({
  name: 'teardown',
  needs: [],
  gives: ['teardown'],
  reads: ['keepOnFailure'],
  async run(ctx) {
    const { core, inputs, signal, owned } = ctx;
    const cluster = owned.recoveryCluster;
    if (!cluster) return { teardown: { skipped: 'no recovery cluster was created' } };
    const cancelled = signal.aborted;
    if (inputs.keepOnFailure && drillReasons(ctx).length && !cancelled) {
      core.saveState(State.keep, 'true');
      const where = ctx.site.sameNamespace ? '' : ` (in ${ctx.site.where}, with its copied Secrets)`;
      core.warning(
        `keep-on-failure: the recovery cluster ${ctx.site.namespace}/${cluster.name} is KEPT for ` +
          `debugging${where}. Delete it when done: kubectl delete cluster -n ${ctx.site.namespace} ${cluster.name}`,
      );
      return { teardown: { kept: true, reasons: [] } };
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      cluster.creating.catch(() => {}),
      new Promise((r) => (timer = setTimeout(r, cancelled ? CREATE_SETTLE_CANCELLED_MS : CREATE_SETTLE_MS))),
    ]);
    clearTimeout(timer);
    return { teardown: await tearDown(ctx, cluster.name, cancelled) };
  },
});

async function tearDown(
  { core, site, owned, log, cancelledAt }: PhaseContext,
  name: string,
  cancelled: boolean,
): Promise<TornDown> {
  const torn: TornDown = { reasons: [] };
  const deadline = cancelled ? (cancelledAt ?? Date.now()) + CANCEL_TEARDOWN_MS : Date.now() + TEARDOWN_MS;
  const started = Date.now();
  try {
    const retry = cancelled ? CANCEL_TEARDOWN_RETRY : TEARDOWN_RETRY;
    // Cancelled: the runner kills soon; the post step waits for the volumes the provisioner still deletes.
    const volumeDeadline = cancelled ? Date.now() : deadline;
    const t = await teardownCluster(site.clients, site.namespace, name, { deadline, volumeDeadline, retry, log });
    if (owned.copies) {
      t.leftovers.push(...(await removeCopies(site.clients, site.namespace, name, { ...owned.copies, retry })));
      t.clean = t.leftovers.length === 0;
    }
    torn.report = t;
    if (t.clean) core.saveState(State.tornDown, 'true');
    else if (!cancelled) torn.reasons.push(`teardown incomplete: ${t.leftovers.join('; ')}`);
    log(t.clean ? `teardown verified in ${Date.now() - started} ms` : `teardown incomplete: ${t.leftovers.join('; ')}`);
  } catch (err) {
    torn.report = { cluster: name, clean: false, leftovers: [describeError(err)], ms: Date.now() - started };
    if (!cancelled) torn.reasons.push(`teardown failed: ${describeError(err)}`);
  }
  torn.ms = Date.now() - started;
  return torn;
}
