// The isolated recovery Cluster: one instance restored from the live cluster's archive, with no
// `backup` and no `plugins` so it can never archive into (and corrupt) the live path.
import {
  CNPG_GROUP,
  CNPG_VERSION,
  type Cluster,
  type ExternalCluster,
  type RecoveryTarget,
  type Resources,
  type StorageConfiguration,
} from '../cnpg/types.js';
import type { LiveSpec } from './live-spec.js';
import type { DrillInputs } from './inputs.js';
import type { RunRecord } from './result.js';
import { MANAGED_BY_LABEL, ManagedBy } from '../labels.js';

/** Labels and annotations the drill sets; the sweep and teardown touch only clusters carrying them. */
export const DrillLabel = {
  drillOf: 'cnpg-actions.io/drill-of',
  managedBy: MANAGED_BY_LABEL,
  run: 'cnpg-actions.io/drill-run',
} as const;
export const CREATED_AT_ANNOTATION = 'cnpg-actions.io/created-at';
export const RUN_URL_ANNOTATION = 'cnpg-actions.io/run-url';
/** Selects every drill cluster of this action (any source). */
export const DRILL_SELECTOR = `${DrillLabel.managedBy}=${ManagedBy.drill},${DrillLabel.drillOf}`;

/** CNPG's webhook refuses a Cluster name over 50 characters (validateName, cluster_webhook.go). */
const WEBHOOK_MAX_NAME = 50;
/**
 * Names CNPG derives from a recovery cluster that become a pod hostname and a label value, so 63 at most,
 * in every supported version and both bootstrap modes (CONFORMANCE.md, branch conform): the recovery Job
 * `<cluster>-<serial>-full-recovery` (the Job mode, every release), the instance pod `<cluster>-<serial>`
 * (in-pod bootstrap), the Services `<cluster>-rw|ro|r`. A fresh cluster's first serial is 1.
 */
const DERIVED_SUFFIXES = ['-1-full-recovery', '-1', '-rw', '-ro', '-r'];
export const MAX_RECOVERY_NAME = Math.min(WEBHOOK_MAX_NAME, ...DERIVED_SUFFIXES.map((s) => 63 - s.length));

/**
 * `<source>-drill-<run id>-<attempt>`, short enough for every name CNPG derives from it (MAX_RECOVERY_NAME),
 * a DNS-1035 label (source shortened first). Never refused: the user does not choose it.
 */
export function recoveryClusterName(source: string, runId: string, attempt: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  const suffix = `-drill-${clean(runId)}-${clean(attempt)}`.slice(0, MAX_RECOVERY_NAME - 1);
  const head =
    clean(source)
      .replace(/^[^a-z]+/, '')
      .slice(0, Math.max(1, MAX_RECOVERY_NAME - suffix.length))
      .replace(/-+$/, '') || 'c';
  return `${head}${suffix}`.replace(/-+$/, '');
}

export interface RecoveryOptions {
  name: string;
  runId: string;
  createdAt: Date;
  runUrl?: string;
  storageClass?: string;
  resources?: Resources;
  recoveryTarget?: RecoveryTarget;
}

/** The options of this run's recovery cluster: create.phase.ts creates it, the CLI's `plan` prints it. */
export function recoveryOptions(
  ctx: {
    inputs: Pick<DrillInputs, 'storageClass' | 'recoveryResources'>;
    env: NodeJS.ProcessEnv;
    run: Pick<RunRecord, 'runUrl'>;
  },
  name: string,
  createdAt: Date,
  recoveryTarget: RecoveryTarget | undefined,
): RecoveryOptions {
  return {
    name,
    runId: ctx.env.GITHUB_RUN_ID || 'local',
    createdAt,
    runUrl: ctx.run.runUrl,
    storageClass: ctx.inputs.storageClass,
    resources: ctx.inputs.recoveryResources,
    recoveryTarget,
  };
}

export function recoveryClusterManifest(live: LiveSpec, o: RecoveryOptions): Cluster {
  // Named after the source so the manifest reads naturally; serverName is explicit regardless.
  const source = live.name;
  const external: ExternalCluster = live.plugin
    ? {
        name: source,
        plugin: {
          name: live.plugin.name,
          parameters: { barmanObjectName: live.plugin.barmanObjectName, serverName: live.serverName },
        },
      }
    : { name: source, barmanObjectStore: { ...structuredClone(live.store), serverName: live.serverName } };
  const annotations: Record<string, string> = { [CREATED_AT_ANNOTATION]: o.createdAt.toISOString() };
  if (o.runUrl) annotations[RUN_URL_ANNOTATION] = o.runUrl;
  const cluster: Cluster = {
    apiVersion: `${CNPG_GROUP}/${CNPG_VERSION}`,
    kind: 'Cluster',
    metadata: {
      name: o.name,
      namespace: live.namespace,
      labels: {
        [DrillLabel.drillOf]: live.name,
        [DrillLabel.managedBy]: ManagedBy.drill,
        [DrillLabel.run]: o.runId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63),
      },
      annotations,
    },
    spec: {
      instances: 1,
      // The drill's own isolated cluster: superuser access lets it read replay positions (still read-only sessions).
      enableSuperuserAccess: true,
      storage: withClass(live.storage, o.storageClass) as { size: string },
      postgresql: { parameters: { ...live.parameters } },
      bootstrap: {
        recovery: {
          source,
          database: live.database,
          owner: live.owner,
          ...(o.recoveryTarget ? { recoveryTarget: o.recoveryTarget } : {}),
        },
      },
      externalClusters: [external],
    },
  };
  if (live.imageName) cluster.spec.imageName = live.imageName;
  else if (live.imageCatalogRef) cluster.spec.imageCatalogRef = live.imageCatalogRef;
  if (live.walStorage) cluster.spec.walStorage = withClass(live.walStorage, o.storageClass);
  // The exact list of tablespaces (docs/src/tablespaces.md), on the drill's storage class if given.
  if (live.tablespaces)
    cluster.spec.tablespaces = live.tablespaces.map((t) => ({
      ...structuredClone(t),
      storage: withClass(t.storage, o.storageClass),
    }));
  Object.assign(cluster.spec, structuredClone(live.pod));
  if (o.resources) cluster.spec.resources = o.resources;
  return cluster;
}

/** The live storage, on `storageClass` when the drill overrides it (storageClass wins over pvcTemplate's). */
function withClass(st: StorageConfiguration, storageClass: string | undefined): StorageConfiguration {
  const out = structuredClone(st);
  if (storageClass) out.storageClass = storageClass;
  return out;
}
