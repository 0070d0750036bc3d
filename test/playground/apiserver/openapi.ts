// OpenAPI v3 documents, enough for kubectl's validation: kubectl checks that the PATCH
// operation of an object's GVK declares the `fieldValidation` query parameter and, if so,
// leaves validation to the server (which accepts what it stores). Schemas are permissive
// (`x-kubernetes-preserve-unknown-fields`) and carry `x-kubernetes-group-version-kind`.
// The PATCH operations do not advertise strategic merge patch, so kubectl computes its
// client-side apply patches from its compiled-in types (built-ins) or as merge patches (CRs).
import { createHash } from 'node:crypto';
import type { ResourceType } from '../types.js';
import { groupVersions } from './discovery.js';
import { KUBE_VERSION } from './discovery.js';

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

function schemaName(t: ResourceType): string {
  const g = t.group === '' ? 'core' : t.group;
  const prefix =
    !t.group.includes('.') || t.group.endsWith('.k8s.io')
      ? `io.k8s.api.${g.replace(/\.k8s\.io$/, '')}`
      : g.split('.').reverse().join('.');
  return `${prefix}.${t.version}.${t.kind}`;
}

function queryParam(name: string, type = 'string'): Record<string, unknown> {
  return { name, in: 'query', schema: { type, uniqueItems: true } };
}

function operation(t: ResourceType, action: string, body: string[] | undefined, ref: string): Record<string, unknown> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const writeParams = ['dryRun', 'fieldManager', 'fieldValidation'].map((p) => queryParam(p));
  const json = { schema: { $ref: ref } };
  return {
    operationId: `${action}${t.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    parameters:
      action === 'patch'
        ? [...writeParams, queryParam('force', 'boolean')]
        : action === 'put' || action === 'post'
          ? writeParams
          : [],
    ...(body
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(body.map((ct) => [ct, { schema: { type: 'object' } }])),
          },
        }
      : {}),
    responses: { '200': { description: 'OK', content: { 'application/json': json } } },
  };
}

export function openapiGroupVersion(
  types: ResourceType[],
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const inGv = types.filter((t) => t.group === group && t.version === version);
  if (inGv.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const base = `/${gvPath(group, version)}`;
  for (const t of inGv) {
    const name = schemaName(t);
    const ref = `#/components/schemas/${name}`;
    schemas[name] = {
      type: 'object',
      description: `${t.kind} (served by the CNPG playground)`,
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
    };
    const coll = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
    const nsParam = t.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] : [];
    paths[coll] = {
      get: operation(t, 'list', undefined, ref),
      post: operation(t, 'post', ['application/json', 'application/yaml'], ref),
      parameters: nsParam,
    };
    paths[`${coll}/{name}`] = {
      get: operation(t, 'get', undefined, ref),
      put: operation(t, 'put', ['application/json', 'application/yaml'], ref),
      patch: operation(
        t,
        'patch',
        ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'],
        ref,
      ),
      delete: operation(t, 'delete', undefined, ref),
      parameters: [...nsParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: KUBE_VERSION.gitVersion },
    paths,
    components: { schemas },
  };
}

/** The /openapi/v3 index; the hash changes whenever a group version's content does (kubectl caches by URL). */
export function openapiRoot(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [g, vs] of groupVersions(types)) {
    for (const v of vs) {
      const doc = JSON.stringify(openapiGroupVersion(types, g, v));
      const hash = createHash('sha512').update(doc).digest('hex').slice(0, 64).toUpperCase();
      paths[gvPath(g, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(g, v)}?hash=${hash}` };
    }
  }
  return { paths };
}
