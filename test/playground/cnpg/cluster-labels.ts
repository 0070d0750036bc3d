// Labels and annotations CNPG puts on what it derives from a Cluster: SetInheritedData
// (api/v1/cluster_funcs.go: cnpg.io/cluster label, cnpg.io/operatorVersion annotation) on every
// owned object, and from 1.28.0 the app.kubernetes.io/* labels (pkg/specs/pods.go, services.go,
// jobs.go; PVCs get name, component and managed-by only).
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { L, versionAtLeast } from './context.js';

/** The PostgreSQL major of the cluster's image tag (`...:15`, `...:16.4-bookworm`), as GetPostgresqlMajorVersion. */
export function pgMajor(cluster: KubeObject): string {
  const image: string = cluster.status?.image ?? cluster.spec?.imageName ?? '';
  const tag = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : '';
  return /^\d+/.exec(tag)?.[0] ?? '';
}

export const hasAppLabels = (ctx: Ctx) => versionAtLeast(ctx.settings.version, '1.28.0');

/** app.kubernetes.io/* labels of pods, services and Jobs (1.28.0 and later). */
export function appLabels(ctx: Ctx, cluster: KubeObject): Record<string, string> {
  if (!hasAppLabels(ctx)) return {};
  return {
    'app.kubernetes.io/name': 'postgresql',
    'app.kubernetes.io/instance': cluster.metadata.name,
    'app.kubernetes.io/version': pgMajor(cluster),
    'app.kubernetes.io/component': 'database',
    'app.kubernetes.io/managed-by': 'cloudnative-pg',
  };
}

/** The subset PVCs carry (persistentvolumeclaim/calculator.go). */
export function pvcAppLabels(ctx: Ctx): Record<string, string> {
  if (!hasAppLabels(ctx)) return {};
  return {
    'app.kubernetes.io/managed-by': 'cloudnative-pg',
    'app.kubernetes.io/name': 'postgresql',
    'app.kubernetes.io/component': 'database',
  };
}

/** SetInheritedData: the cluster label and the operator version annotation. */
export function inherited(
  ctx: Ctx,
  cluster: KubeObject,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [L.cluster]: cluster.metadata.name },
    annotations: { 'cnpg.io/operatorVersion': ctx.settings.version },
  };
}
