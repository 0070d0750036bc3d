// Server-side dry-run (dryRun=All) of every rendered object, as a server-side apply, so the
// API server's validation and admission webhooks judge the new manifests before the upgrade
// touches anything. Objects the server cannot judge yet are skipped and counted: types defined by
// the chart's own CRDs that are not served yet, and objects in a namespace helm will create.
import { PatchStrategy } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import { ignoreNotFound, isTransient, withRetry } from '../../kube/retry.js';
import { applyRawCrd, FIELD_MANAGER } from '../crds.js';
import type { Discovery } from '../discovery.js';
import { describeObject, type KubeObjectLike, type RenderedObject } from '../render.js';
import { describeError } from '../../errors.js';

export interface DryRunResult {
  checked: number;
  skipped: { object: string; why: string }[];
  problems: string[];
}

export async function dryRunObjects(
  clients: KubeClients,
  discovery: Discovery,
  rendered: RenderedObject[],
  namespace: string,
): Promise<DryRunResult> {
  const result: DryRunResult = { checked: 0, skipped: [], problems: [] };
  const namespaceExists = !!(await withRetry('read namespace', () =>
    ignoreNotFound(() => clients.core.readNamespace({ name: namespace })),
  ));
  for (const r of rendered) {
    if (r.object.kind === 'CustomResourceDefinition') {
      const problem = await dryRunCrd(clients, r);
      if (problem) result.problems.push(problem);
      else result.checked++;
      continue;
    }
    const served = await discovery.kind(r.object.apiVersion, r.object.kind);
    const object: KubeObjectLike = structuredClone(r.object);
    if (!served) {
      result.skipped.push({
        object: describeObject(object),
        why: `${object.apiVersion} ${object.kind} is defined by the chart's CRDs and not served yet`,
      });
      continue;
    }
    if (served.namespaced) {
      object.metadata.namespace ??= namespace;
      if (object.metadata.namespace === namespace && !namespaceExists) {
        result.skipped.push({
          object: describeObject(object),
          why: `namespace ${namespace} does not exist yet (helm creates it)`,
        });
        continue;
      }
    }
    try {
      await withRetry(`dry-run ${describeObject(object)}`, () =>
        clients.objects.patch(object as never, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
      );
      result.checked++;
    } catch (err) {
      if (isTransient(err)) throw err;
      result.problems.push(
        `the API server rejects ${describeObject(object)} (${r.source}) in a dry-run: ${describeError(err)}`,
      );
    }
  }
  return result;
}

async function dryRunCrd(clients: KubeClients, r: RenderedObject): Promise<string | undefined> {
  try {
    await withRetry(`dry-run ${describeObject(r.object)}`, () =>
      applyRawCrd(clients, r.object, { fieldManager: FIELD_MANAGER, dryRun: true }),
    );
    return undefined;
  } catch (err) {
    if (isTransient(err)) throw err;
    const field = /(spec\.versions\[\d+\]\.schema\.openAPIV3Schema[^:]*):/.exec(describeError(err))?.[1];
    const fix = field
      ? `fix the schema at ${field} in ${r.source} (a Kubernetes API server accepts only ` +
        `structural schemas: every property needs a type, allOf/anyOf/oneOf/not hold value ` +
        `validations only), or pin the chart to a release whose CRDs the server accepts`
      : `fix the CRD in ${r.source}`;
    return `the API server rejects ${describeObject(r.object)} (${r.source}) in a dry-run: ${describeError(err)}; ${fix}.`;
  }
}
