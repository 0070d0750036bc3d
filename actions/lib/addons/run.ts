// addon-sync entry logic: inputs -> declarations (all checked before anything changes) ->
// plan (reads only) -> apply (mode: apply) -> outputs, summary, and failure if any app failed.
import type { Core } from '../core.js';
import { VerdictError } from '../errors.js';
import { checkReachable, makeClients } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { readConfig } from './config.js';
import { failWithError, writeSummary } from '../report/outcome.js';
import { findAppFiles, readDeclarations } from './declaration.js';
import { checkNames } from './names.js';
import { countOutcomes, logPlan, planCounts, planJson, renderSummary } from './report.js';
import { AddonSync } from './sync.js';

export async function run(core: Core): Promise<void> {
  try {
    const config = readConfig(core);
    const files = await findAppFiles(config.apps, config.cwd);
    const apps = readDeclarations(files, config.cwd);
    checkNames(config, apps);
    core.info(`addon-sync: ${apps.length} app(s) from ${files.length} file(s), mode ${config.mode}`);
    const kube = loadKubeConfig(core, config.kubeconfig);
    try {
      const clients = makeClients(kube.kc);
      await checkReachable(clients);
      const sync = new AddonSync({ core, clients, config });
      const plans = await sync.plan(apps);
      logPlan(core, plans);
      core.setOutput('plan', planJson(plans));
      let counts = planCounts(plans);
      let failures = plans.flatMap((p) => p.items.filter((i) => i.blocked).map((i) => i.blocked!));
      if (config.mode === 'apply') {
        const outcomes = await sync.apply(plans);
        counts = countOutcomes(outcomes);
        failures = outcomes.flatMap((o) =>
          o.items.filter((i) => i.result === 'failed').map((i) => i.message ?? `${o.app} ${i.item.addon} failed`),
        );
        await writeSummary(core, renderSummary('apply', plans, outcomes));
      } else {
        await writeSummary(core, renderSummary('plan', plans));
      }
      for (const [k, v] of Object.entries(counts)) core.setOutput(k, String(v));
      core.info(
        `addon-sync: created ${counts.created}, updated ${counts.updated}, removed ${counts.removed}, failed ${counts.failed}`,
      );
      if (failures.length) throw new VerdictError(failures);
    } finally {
      kube.dispose();
    }
  } catch (err) {
    // Usage errors (bad inputs or app.toml files) change nothing; each failed add-on change is its own annotation.
    failWithError(core, err, { each: (n) => `${n} add-on change(s) failed; the other apps were synced.` });
  }
}
