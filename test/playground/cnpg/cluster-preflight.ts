// What a Cluster reconcile checks before creating anything, each failure a phase the operator
// keeps retrying and leaves once the cause is gone (so it can flip back):
// - plugins (cluster_controller.go Reconcile): every enabled spec.plugins entry and every
//   externalClusters plugin must be loaded, else "Unknown plugin: '<name>'..." (requeued);
// - the image (cluster_image.go reconcileImage / pkg/utils/imagecatalog): spec.imageName, or the
//   image of spec.imageCatalogRef.major in an ImageCatalog / ClusterImageCatalog, else the image
//   catalog error phase (re-run when a catalog changes). In 1.25.x a missing catalog only
//   raised an event; from 1.26.0 it is the phase "catalog <Kind>/<name> not found".
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, PLUGIN_NAME, versionAtLeast } from './context.js';

export const PHASE_UNKNOWN_PLUGIN = 'Cluster cannot proceed to reconciliation due to an unknown plugin being required';
export const PHASE_IMAGE_CATALOG = 'Cluster has incomplete or invalid image catalog';
export const PHASE_CANNOT_CREATE = 'Unable to create required cluster objects';

/** The first required plugin the operator has not loaded. */
export function unknownPlugin(ctx: Ctx, cluster: KubeObject): string | undefined {
  const loaded = ctx.settings.plugins ?? [PLUGIN_NAME];
  const fromSpec = (cluster.spec?.plugins ?? [])
    .filter((p: any) => p.enabled !== false)
    .map((p: any) => p.name as string);
  const fromExternal = (cluster.spec?.externalClusters ?? [])
    .map((e: any) => e.plugin?.name as string | undefined)
    .filter(Boolean) as string[];
  return [...new Set([...fromSpec, ...fromExternal])].sort().find((n) => !loaded.includes(n));
}

export const unknownPluginReason = (name: string) =>
  `Unknown plugin: '${name}'. This may be caused by the plugin not being loaded correctly by the operator. Check the operator and plugin logs for errors`;

export type ImageResult = { image: string } | { error?: string };

/**
 * Messages per release: 1.25.x capitalised and a missing catalog only an event (cluster_image.go@v1.25.4);
 * 1.26.0 lowercase and the phase `catalog <Kind>/<name> not found` (@v1.26.0 l.145-162); 1.29.0 moves
 * the lookup to pkg/utils/imagecatalog/catalog.go (kind named, every lookup error an `Error getting` event).
 */
function catalogOf(ctx: Ctx, cluster: KubeObject): KubeObject | { error?: string } {
  const ref = cluster.spec.imageCatalogRef;
  const v129 = versionAtLeast(ctx.settings.version, '1.29.0');
  const v126 = versionAtLeast(ctx.settings.version, '1.26.0');
  const fail = (error: string) => {
    if (v129)
      ctx.store.recordEvent(cluster, 'Warning', 'DiscoverImage', `Error getting ${ref.kind}/${ref.name}: ${error}`);
    return { error };
  };
  if (ref.kind !== 'ImageCatalog' && ref.kind !== 'ClusterImageCatalog')
    return fail(
      v129
        ? `invalid image catalog type: ${ref.kind}`
        : v126
          ? 'invalid image catalog type'
          : 'Invalid image catalog type',
    );
  if (ref.apiGroup !== 'postgresql.cnpg.io')
    return fail(v126 ? 'invalid image catalog group' : 'Invalid image catalog group');
  const catalog =
    ref.kind === 'ImageCatalog'
      ? ctx.store.get(GVR.imageCatalog, cluster.metadata.namespace, ref.name)
      : ctx.store.get(GVR.clusterImageCatalog, undefined, ref.name);
  if (catalog) return catalog;
  if (v129) return fail(`catalog ${ref.kind}/${ref.name} not found`);
  ctx.store.recordEvent(cluster, 'Warning', 'DiscoverImage', `Cannot get ${ref.kind}/${ref.name}`);
  return v126 ? { error: `catalog ${ref.kind}/${ref.name} not found` } : {};
}

/** The image to run, or why not (an error to show as the phase; none: wait quietly). */
export function resolveImage(ctx: Ctx, cluster: KubeObject): ImageResult {
  const ref = cluster.spec?.imageCatalogRef;
  if (!ref)
    return cluster.spec?.imageName
      ? { image: cluster.spec.imageName }
      : { error: 'ImageName is not defined and no catalog is referenced' };
  const catalog = catalogOf(ctx, cluster);
  if (!('metadata' in catalog)) return catalog;
  const found = (catalog.spec?.images ?? []).find((i: { major: number; image: string }) => i.major === ref.major);
  if (found) return { image: found.image };
  ctx.store.recordEvent(
    cluster,
    'Warning',
    'DiscoverImage',
    `Cannot find major ${ref.major} in ${ref.kind}/${ref.name}`,
  );
  return {
    error: versionAtLeast(ctx.settings.version, '1.26.0')
      ? 'selected major version is not available in the catalog'
      : 'Selected major version is not available in the catalog',
  };
}

/**
 * spec.serviceAccountName (1.29+, cluster_create.go validateExistingServiceAccount): used as is, never
 * created; a missing one is a Warning event and a reconcile error, so the phase is
 * PHASE_CANNOT_CREATE with the error and nothing else is created.
 */
export function checkServiceAccount(ctx: Ctx, cluster: KubeObject): void {
  const name = cluster.spec?.serviceAccountName;
  if (!name || !versionAtLeast(ctx.settings.version, '1.29.0')) return;
  const ns = cluster.metadata.namespace;
  if (ctx.store.get('v1/serviceaccounts', ns, name)) return;
  ctx.store.recordEvent(
    cluster,
    'Warning',
    'ServiceAccountNotFound',
    `Specified ServiceAccount "${name}" not found in namespace "${ns}"`,
  );
  throw new Error(`serviceAccount "${name}" not found: serviceaccounts "${name}" not found`);
}
