// `plan`: the drill's read-only phases (find live, check the site, read its spec, connect
// read-only, inventory, choose the target, name the recovery; with recovery-credentials-secret or
// recovery-object-store, the recovery reads the archive with those), then print what a run would
// create: the exact recovery Cluster (create.phase.ts builds it with the same recoveryOptions), the
// copies at a sandbox or recovery site (recovery-copies.ts) and the checks. Nothing is created,
// swept, recorded or written: no restore point, no dry run.
import type { Cluster, ObjectStore } from '../cnpg/types.js';
import { getObjectStore } from '../cnpg/api.js';
import type { DrillInputs } from '../drill/inputs.js';
import type { LiveSpec } from '../drill/live-spec.js';
import { definePhase, type PhaseContext, type Pipeline } from '../drill/pipeline.js';
import { checkSite } from '../drill/phases/check-site.phase.js';
import { chooseTarget } from '../drill/phases/choose-target.phase.js';
import { closeSessions } from '../drill/phases/close-sessions.phase.js';
import { connectLive } from '../drill/phases/connect-live.phase.js';
import { findLive } from '../drill/phases/find-live.phase.js';
import { inventory } from '../drill/phases/inventory.phase.js';
import { nameRecovery } from '../drill/phases/name-recovery.phase.js';
import { readSpec } from '../drill/phases/read-spec.phase.js';
import { recoveryCredentials } from '../drill/phases/recovery-credentials.phase.js';
import { settleVerdict } from '../drill/phases/verdict.phase.js';
import { copyName, planCopies, retargetManifest, type CopyPlan, type CopySource } from '../drill/recovery-copies.js';
import { credentialsReport } from '../drill/recovery-credentials.js';
import { recordName } from '../drill/record.js';
import { recoveryClusterManifest, recoveryOptions } from '../drill/recovery-manifest.js';
import type { ResolvedTarget } from '../drill/targets.js';

export interface DrillPlan {
  recoveryCluster: Cluster;
  /** What a run copies to the sandbox / recovery site, as `Kind namespace/name <- source`. */
  copies: string[];
  checks: string[];
}

/** The plan pipeline; the plan lands in `out` once its last phase ran. */
export function planPipeline(out: { plan?: DrillPlan }): Pipeline {
  const plan = definePhase({
    name: 'plan',
    title: 'plan the recovery',
    needs: ['spec', 'target', 'recoveryName', 'databases'],
    gives: [],
    reads: ['storageClass', 'recoveryResources', ...CHECKS_READ],
    async run(ctx, { spec, target, recoveryName, databases }) {
      const manifest = recoveryClusterManifest(
        spec,
        recoveryOptions(ctx, recoveryName, new Date(), target.recoveryTarget),
      );
      const copies = await siteCopies(ctx, manifest, spec);
      out.plan = {
        recoveryCluster: manifest,
        copies,
        checks: checks(ctx.inputs, databases, target, spec, ctx.site.namespace),
      };
    },
  });
  return {
    preflight: [findLive, checkSite, recoveryCredentials],
    main: [readSpec, connectLive, inventory, chooseTarget, nameRecovery, plan],
    final: [closeSessions, settleVerdict],
  };
}

async function siteCopies(ctx: PhaseContext<'namespace'>, manifest: Cluster, spec: LiveSpec): Promise<string[]> {
  const { site, inputs, clients, retry } = ctx;
  if (site.sameNamespace) return [];
  const store: ObjectStore | undefined = spec.plugin
    ? await getObjectStore(clients, inputs.namespace, spec.plugin.barmanObjectName, retry)
    : undefined;
  // The same plan copy-to-site.ts makes: object store, pull secrets, env/envFrom, ServiceAccount.
  const copy = planCopies(spec.store, store, spec.pod);
  retargetManifest(manifest, site.namespace, copy);
  return copyLines(copy, manifest.metadata.name, inputs.namespace, site.namespace);
}

/** One line per object the drill would copy (or require) at the recovery site. */
export function copyLines(copy: CopyPlan, recovery: string, from: string, to: string): string[] {
  const keys = (s: CopySource) => (s.keys === 'all' ? 'all keys' : `keys ${[...s.keys].join(', ')}`);
  const line = (kind: string) => (s: CopySource) =>
    `${kind} ${to}/${copyName(recovery, s.name)} <- ${from}/${s.name} (${keys(s)}${s.optional ? ', if present' : ''})`;
  const store = copy.objectStore?.metadata.name;
  return [
    ...copy.secrets.map(line('Secret')),
    ...copy.configMaps.map(line('ConfigMap')),
    ...(store ? [`ObjectStore ${to}/${copyName(recovery, store)} <- ${from}/${store}`] : []),
    ...(copy.serviceAccount ? [`ServiceAccount ${to}/${copy.serviceAccount} must exist (not copied)`] : []),
  ];
}

/** What the plan's checks describe (the namespace also names the copies' source). */
const CHECKS_READ = [
  'judgeCounts',
  'tolerance',
  'floor',
  'maxBackupAgeMs',
  'timeoutMs',
  'liveCounts',
  'verify',
  'keepOnFailure',
  'recordHistory',
  'namespace',
  'cluster',
] as const;

function checks(
  inputs: Pick<DrillInputs, (typeof CHECKS_READ)[number]>,
  databases: string[],
  target: ResolvedTarget,
  spec: LiveSpec,
  siteNamespace: string,
): string[] {
  const judged = inputs.judgeCounts
    ? `judged: |restored − live| <= max(${inputs.tolerance} × live, ${inputs.floor})`
    : 'reported, not judged';
  const pinned = target.recoveryTarget
    ? `stops at ${JSON.stringify(target.recoveryTarget)}`
    : target.kind === 'restore-point'
      ? 'stops at a restore point the run creates on live (the one write)'
      : 'pinned at run time to live’s counting snapshot when archived within same-moment-wait, ' +
        'else the end of the archive';
  return [
    `recovery target: ${target.describe}; the restore ${pinned}`,
    `the archive read with ${credentialsReport(spec).describe}`,
    `newest completed backup no older than max-backup-age (${inputs.maxBackupAgeMs / 1000} s)`,
    `healthy within timeout (${inputs.timeoutMs / 1000} s), WAL replay never stalled for stall-timeout`,
    ...databases.map(
      (db) =>
        `${db}: schema compared; every table read in full on the restore; live counted ${inputs.liveCounts}; ${judged}`,
    ),
    `restored data files verified: ${inputs.verify}; data checksums reported`,
    'RTO (created -> healthy) and RPO (seconds and bytes behind live at drill start) measured',
    `teardown of everything created${inputs.keepOnFailure ? ' (kept on failure)' : ''}`,
    ...(inputs.recordHistory
      ? [`result recorded in ConfigMap ${siteNamespace}/${recordName(siteNamespace, inputs)}`]
      : []),
  ];
}
