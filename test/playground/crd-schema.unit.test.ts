// The playground validates CRDs as the apiextensions API server does (structural schemas,
// unsupported keywords, x-kubernetes-* extensions) and stores what it accepts unchanged; it
// serves the API groups operator charts install into (admissionregistration, rbac, policy,
// scheduling, networking, storage, coordination).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterCrd, cnpgCrds, objectStoreCrd } from '../fixtures/charts/upstream/cnpg-crds.js';
import type { S } from '../fixtures/charts/upstream/schema-dsl.js';
import { startTestServer, type TestServer } from './apiserver/testing.js';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api?.stop();
});

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const schemaOf = (crd: any): S => crd.spec.versions[0].schema.openAPIV3Schema;
const specProps = (crd: any): Record<string, S> => (schemaOf(crd).properties as any).spec.properties;

function widget(name: string, spec: S): S {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${name}s.fixture.cnpg-actions.io` },
    spec: {
      group: 'fixture.cnpg-actions.io',
      names: { kind: name[0].toUpperCase() + name.slice(1), plural: `${name}s` },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec } } },
        },
      ],
    },
  };
}

describe('CRD validation (structural schemas)', () => {
  it('accepts every fixture CRD (enums, defaults, CEL rules, int-or-string, list maps) and stores it unchanged', async () => {
    for (const crd of [...cnpgCrds('1.30'), objectStoreCrd()]) {
      const r = await api.req('POST', CRDS, crd);
      expect(r.status, JSON.stringify(r.body).slice(0, 400)).toBe(201);
      const stored = (await api.req('GET', `${CRDS}/${(crd.metadata as { name: string }).name}`)).body;
      expect(stored.spec.versions).toEqual((crd.spec as { versions: unknown }).versions);
    }
  });

  it('rejects a property without a type, with the API server message and field path', async () => {
    const crd = clusterCrd('1.30');
    (crd.metadata as { name: string }).name = 'clusters.postgresql.cnpg.io';
    delete specProps(crd).instances.type;
    await api.req('DELETE', `${CRDS}/clusters.postgresql.cnpg.io`);
    const r = await api.req('POST', CRDS, crd);
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe('Invalid');
    expect(r.body.message).toBe(
      'CustomResourceDefinition.apiextensions.k8s.io "clusters.postgresql.cnpg.io" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[instances].type: Required value: must not be empty for specified object fields',
    );
    expect(r.body.details.causes).toEqual([
      {
        reason: 'FieldValueRequired',
        message: 'Required value: must not be empty for specified object fields',
        field: 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[instances].type',
      },
    ]);
  });

  it('rejects types inside junctors, and what a root junctor names but the schema does not specify', async () => {
    const r = await api.req(
      'POST',
      CRDS,
      widget('gadget', {
        type: 'object',
        properties: { size: { type: 'string' } },
        anyOf: [{ properties: { color: { type: 'string' } } }],
      }),
    );
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(
      /is invalid: spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.anyOf\[0\]\.properties\[color\]\.type: Forbidden: must be empty to be structural$/,
    );
    // Completeness is checked for the root's junctors (pkg/apiserver/schema/complete.go).
    const root = widget('gadget', { type: 'object' });
    schemaOf(root).anyOf = [{ required: ['spec'] }, { properties: { status: { maxProperties: 3 } } }];
    const r2 = await api.req('POST', CRDS, root);
    expect(r2.body.message).toBe(
      'CustomResourceDefinition.apiextensions.k8s.io "gadgets.fixture.cnpg-actions.io" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[status]: Required value: because it is defined in spec.versions[0].schema.openAPIV3Schema.anyOf[1].properties[status]',
    );
  });

  it('rejects arrays without items, unsupported keywords, metadata beyond name, and empty CEL rules', async () => {
    const cases: [S, string][] = [
      [
        { type: 'object', properties: { tags: { type: 'array' } } },
        'properties[spec].properties[tags].items: Required value: must be specified',
      ],
      [
        { type: 'object', properties: { a: { $ref: '#/definitions/x' } } },
        'properties[spec].properties[a].$ref: Forbidden: $ref is not supported',
      ],
      [
        { type: 'object', properties: { a: { type: 'date' } } },
        'properties[spec].properties[a].type: Unsupported value: "date": supported values: "array", "boolean", "integer", "number", "object", "string"',
      ],
      [
        { type: 'object', 'x-kubernetes-validations': [{ rule: '' }] },
        'properties[spec].x-kubernetes-validations[0].rule: Required value: rule is not specified',
      ],
      [
        {
          type: 'object',
          properties: {
            l: {
              type: 'array',
              items: { type: 'object', properties: { n: { type: 'string' } } },
              'x-kubernetes-list-type': 'map',
            },
          },
        },
        'properties[spec].properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map',
      ],
    ];
    for (const [spec, want] of cases) {
      const r = await api.req('POST', CRDS, widget('gizmo', spec));
      expect(r.status, want).toBe(422);
      expect(r.body.message).toContain(`spec.versions[0].schema.openAPIV3Schema.${want}`);
    }
    const meta = widget('doohickey', { type: 'object' });
    (schemaOf(meta).properties as S).metadata = { type: 'object', properties: { labels: { type: 'object' } } };
    const r = await api.req('POST', CRDS, meta);
    expect(r.body.message).toContain(
      'openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
    );
    const noSchema = widget('thingamajig', { type: 'object' });
    delete (noSchema.spec as { versions: S[] }).versions[0].schema;
    expect((await api.req('POST', CRDS, noSchema)).body.message).toContain(
      'spec.versions[0].schema.openAPIV3Schema: Required value',
    );
  });

  it('accepts int-or-string, preserve-unknown-fields and embedded resources where the server does', async () => {
    const r = await api.req(
      'POST',
      CRDS,
      widget('sprocket', {
        type: 'object',
        properties: {
          port: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
          raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          template: {
            type: 'object',
            'x-kubernetes-embedded-resource': true,
            'x-kubernetes-preserve-unknown-fields': true,
          },
        },
      }),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  });

  it('validates updates too: a dry-run apply of a non-structural schema over a stored CRD fails and changes nothing', async () => {
    const crd = widget('sprocket', { type: 'object', properties: { size: {} } });
    const r = await api.req(
      'PATCH',
      `${CRDS}/sprockets.fixture.cnpg-actions.io?fieldManager=t&dryRun=All`,
      crd,
      'application/apply-patch+yaml',
    );
    expect(r.status).toBe(422);
    expect(r.body.message).toContain(
      'properties[spec].properties[size].type: Required value: must not be empty for specified object fields',
    );
  });
});

describe('API groups served for operator charts', () => {
  it('serves the groups and kinds the cloudnative-pg chart and a fresh cluster have', async () => {
    const groups = (await api.req('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining([
        'admissionregistration.k8s.io',
        'rbac.authorization.k8s.io',
        'policy',
        'coordination.k8s.io',
        'scheduling.k8s.io',
        'storage.k8s.io',
        'networking.k8s.io',
      ]),
    );
    const admission = (await api.req('GET', '/apis/admissionregistration.k8s.io/v1')).body.resources.map(
      (r: { name: string; namespaced: boolean }) => `${r.name}:${r.namespaced}`,
    );
    expect(admission).toEqual(['mutatingwebhookconfigurations:false', 'validatingwebhookconfigurations:false']);
    const openapi = (await api.req('GET', '/openapi/v3')).body.paths;
    expect(Object.keys(openapi)).toEqual(
      expect.arrayContaining([
        'apis/admissionregistration.k8s.io/v1',
        'apis/scheduling.k8s.io/v1',
        'apis/networking.k8s.io/v1',
      ]),
    );
  });
});
