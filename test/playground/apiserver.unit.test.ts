// The API server emulator against its HTTP API: discovery, CRUD, selectors, Status errors,
// watches, patches, status subresource, finalizers, garbage collection, volumes, CRDs,
// admission, workloads; and @kubernetes/client-node 1.4 as a real client.
import { existsSync, statSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type KubeObject } from './types.js';
import { collectWatch, eventually, startTestServer, type TestServer } from './apiserver/testing.js';
import { kubeconfigYaml } from './kubeconfig.js';

// The provisioner here deletes a released volume 1 s after its release (the playground's default,
// PV_DELETE_DELAY_MS in apiserver/controllers/volumes.ts, is 3 s): "volumes" proves the delay is kept.
const VOLUME_DELETE_DELAY_MS = 1_000;
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ historyLimit: 50, bookmarkIntervalMs: 200, volumeDeleteDelayMs: VOLUME_DELETE_DELAY_MS });
});
afterAll(async () => {
  await s?.stop();
});

const cm = (name: string, labels?: Record<string, string>, data: Record<string, string> = { a: '1' }) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data,
});
const CM = '/api/v1/namespaces/default/configmaps';

describe('discovery', () => {
  it('serves /version, /api, /apis and resource lists with subresources', async () => {
    expect((await s.req('GET', '/version')).body.gitVersion).toMatch(/^v1\.34\./);
    expect((await s.req('GET', '/api')).body.versions).toEqual(['v1']);
    const groups = (await s.req('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining([
        'apps',
        'batch',
        'apiextensions.k8s.io',
        'storage.k8s.io',
        'policy',
        'coordination.k8s.io',
      ]),
    );
    const core = (await s.req('GET', '/api/v1')).body.resources.map((r: { name: string }) => r.name);
    expect(core).toEqual(
      expect.arrayContaining([
        'pods',
        'pods/log',
        'pods/portforward',
        'pods/status',
        'secrets',
        'persistentvolumeclaims',
      ]),
    );
    const pods = (await s.req('GET', '/api/v1')).body.resources.find((r: { name: string }) => r.name === 'pods');
    expect(pods).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'] });
    expect(pods.verbs).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']));
    expect((await s.req('GET', '/openapi/v3')).body.paths['apis/apps/v1'].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/apps\/v1\?hash=/,
    );
  });

  it('refuses protobuf-only clients with 406', async () => {
    const res = await fetch(`${s.url}/api/v1/namespaces`, {
      headers: { Accept: 'application/vnd.kubernetes.protobuf' },
    });
    expect(res.status).toBe(406);
  });
});

describe('CRUD, selectors and errors', () => {
  it('creates, gets, lists with label and field selectors, updates and deletes', async () => {
    for (const [n, l] of [
      ['c1', { tier: 'db', env: 'prod' }],
      ['c2', { tier: 'web', env: 'prod' }],
      ['c3', { tier: 'db' }],
    ] as const) {
      expect((await s.req('POST', CM, cm(n, l))).status).toBe(201);
    }
    const names = async (q: string) =>
      (await s.req('GET', `${CM}?${q}`)).body.items.map((i: KubeObject) => i.metadata.name).sort();
    expect(await names('labelSelector=tier%3Ddb')).toEqual(['c1', 'c3']);
    expect(await names(`labelSelector=${encodeURIComponent('tier in (db,web),env')}`)).toEqual(['c1', 'c2']);
    expect(await names(`labelSelector=${encodeURIComponent('tier notin (web),!env')}`)).toEqual(['c3']);
    expect(await names(`labelSelector=${encodeURIComponent('env!=prod')}`)).toEqual(['c3']);
    expect(await names('fieldSelector=metadata.name%3Dc2')).toEqual(['c2']);
    const got = (await s.req('GET', `${CM}/c1`)).body;
    expect(got.metadata).toMatchObject({ name: 'c1', namespace: 'default', generation: 1 });
    expect(got.metadata.uid).toBeTruthy();
    got.data.a = '2';
    const upd = await s.req('PUT', `${CM}/c1`, got);
    expect(upd.status).toBe(200);
    expect(Number(upd.body.metadata.resourceVersion)).toBeGreaterThan(Number(got.metadata.resourceVersion));
    // A stale resourceVersion conflicts.
    const stale = await s.req('PUT', `${CM}/c1`, got);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409 });
    expect((await s.req('DELETE', `${CM}/c1`)).status).toBe(200);
    const gone = await s.req('GET', `${CM}/c1`);
    expect(gone.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      details: { name: 'c1', kind: 'configmaps' },
    });
  });

  it('answers 409 AlreadyExists, 422 Invalid and 404 for a missing namespace', async () => {
    expect((await s.req('POST', CM, cm('dup'))).status).toBe(201);
    const dup = await s.req('POST', CM, cm('dup'));
    expect(dup.body).toMatchObject({ reason: 'AlreadyExists', code: 409, details: { name: 'dup' } });
    const bad = await s.req('POST', CM, cm('Not_A_Name'));
    expect(bad.body).toMatchObject({ reason: 'Invalid', code: 422 });
    expect(bad.body.message).toContain('RFC 1123');
    expect((await s.req('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).body.reason).toBe(
      'Invalid',
    );
    expect((await s.req('POST', CM, cm('badlabel', { x: 'no spaces allowed' }))).status).toBe(422);
    const noNs = await s.req('POST', '/api/v1/namespaces/nope/configmaps', cm('x'));
    expect(noNs.body).toMatchObject({ reason: 'NotFound', code: 404, message: 'namespaces "nope" not found' });
    expect((await s.req('GET', '/apis/nothing.example.com/v1/things')).status).toBe(404);
  });

  it('generateName, dryRun=All and secrets stringData', async () => {
    const gen = await s.req('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    expect(gen.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const dry = await s.req('POST', `${CM}?dryRun=All`, cm('dry'));
    expect(dry.status).toBe(201);
    expect((await s.req('GET', `${CM}/dry`)).status).toBe(404);
    const sec = await s.req('POST', '/api/v1/namespaces/default/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1' },
      data: { a: 'eA==' },
      stringData: { b: 'hello' },
    });
    expect(sec.body.data).toEqual({ a: 'eA==', b: Buffer.from('hello').toString('base64') });
    expect(sec.body.stringData).toBeUndefined();
    expect(sec.body.type).toBe('Opaque');
  });
});

describe('watch', () => {
  it('replays from a resourceVersion, filters by field selector, sends bookmarks', async () => {
    const base = (await s.req('POST', CM, cm('w1'))).body.metadata.resourceVersion;
    await s.req('PATCH', `${CM}/w1`, { data: { a: 'x' } }, 'application/merge-patch+json');
    await s.req('POST', CM, cm('w2'));
    const url = `${s.url}${CM}?watch=1&resourceVersion=${base}&fieldSelector=metadata.name%3Dw1&allowWatchBookmarks=true`;
    const done = collectWatch(
      url,
      (ev) => ev.some((e) => e.type === 'DELETED') && ev.some((e) => e.type === 'BOOKMARK'),
    );
    await new Promise((r) => setTimeout(r, 100));
    await s.req('DELETE', `${CM}/w1`);
    const events = await done;
    const typed = events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type}:${e.object.metadata.name}`);
    expect(typed).toEqual(['MODIFIED:w1', 'DELETED:w1']);
    const bm = events.find((e) => e.type === 'BOOKMARK');
    expect(bm.object).toMatchObject({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.any(String) },
    });
  });

  it('starts with ADDED events without a resourceVersion and honours timeoutSeconds', async () => {
    await s.req('POST', CM, cm('w3', { watch: 'me' }));
    const started = Date.now();
    const events = await collectWatch(
      `${s.url}${CM}?watch=true&labelSelector=watch%3Dme&timeoutSeconds=1`,
      () => false,
      5000,
    );
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['ADDED:w3']);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a compacted resourceVersion as a 410 Expired ERROR event', async () => {
    const old = (await s.req('GET', CM)).body.metadata.resourceVersion;
    for (let i = 0; i < 60; i++) await s.req('POST', CM, cm(`spam-${i}`));
    const events = await collectWatch(`${s.url}${CM}?watch=1&resourceVersion=${old}`, (ev) => ev.length > 0);
    expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(() => s.store.watch('v1/configmaps', 'default', { resourceVersion: old }, () => {})).toThrow(ApiError);
  });
});

describe('patches', () => {
  const DEP = '/apis/apps/v1/namespaces/default/deployments';
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'p1' },
    spec: {
      selector: { matchLabels: { app: 'p1' } },
      template: {
        metadata: { labels: { app: 'p1' } },
        spec: {
          containers: [
            {
              name: 'main',
              image: 'nginx:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'side', image: 'busybox:1' },
          ],
        },
      },
    },
  };

  it('merge patch, JSON patch (with test) and strategic merge by list keys', async () => {
    expect((await s.req('POST', DEP, deployment)).status).toBe(201);
    const m = await s.req(
      'PATCH',
      `${DEP}/p1`,
      { metadata: { labels: { x: 'y' } }, spec: { replicas: 3 } },
      'application/merge-patch+json',
    );
    expect(m.body.spec.replicas).toBe(3);
    expect(m.body.metadata.generation).toBe(2);
    const j = await s.req(
      'PATCH',
      `${DEP}/p1`,
      [
        { op: 'test', path: '/spec/replicas', value: 3 },
        { op: 'replace', path: '/spec/replicas', value: 2 },
        { op: 'add', path: '/metadata/labels/z', value: 'w' },
      ],
      'application/json-patch+json',
    );
    expect(j.body.spec.replicas).toBe(2);
    expect(j.body.metadata.labels).toEqual({ x: 'y', z: 'w' });
    expect(
      (
        await s.req(
          'PATCH',
          `${DEP}/p1`,
          [{ op: 'test', path: '/spec/replicas', value: 9 }],
          'application/json-patch+json',
        )
      ).status,
    ).toBe(422);
    const sm = await s.req(
      'PATCH',
      `${DEP}/p1`,
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'main',
                  image: 'nginx:2',
                  env: [
                    { name: 'B', $patch: 'delete' },
                    { name: 'C', value: '3' },
                  ],
                },
              ],
            },
          },
        },
      },
      'application/strategic-merge-patch+json',
    );
    const containers = sm.body.spec.template.spec.containers;
    expect(containers.map((c: { name: string }) => c.name)).toEqual(['main', 'side']);
    expect(containers[0].image).toBe('nginx:2');
    expect(containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'C', value: '3' },
    ]);
  });

  it('server-side apply creates when absent and removes fields the manager stops applying', async () => {
    const path = `${CM}/applied?fieldManager=test`;
    const first = await s.req(
      'PATCH',
      path,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "1"\n  b: "2"\n',
      'application/apply-patch+yaml',
    );
    expect(first.status).toBe(201);
    await s.req('PATCH', `${CM}/applied`, { data: { other: 'kept' } }, 'application/merge-patch+json');
    const second = await s.req(
      'PATCH',
      path,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data: { a: '1' } },
      'application/apply-patch+yaml',
    );
    expect(second.body.data).toEqual({ a: '1', other: 'kept' });
    expect((await s.req('PATCH', `${CM}/applied`, { data: {} }, 'application/apply-patch+yaml')).status).toBe(422); // fieldManager required
  });
});

describe('status subresource, finalizers and garbage collection', () => {
  const PODS = '/api/v1/namespaces/default/pods';
  const pod = (name: string, extra: Partial<KubeObject['metadata']> = {}, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'cnpg.io/cluster': 'none' }, ...extra },
    spec: { containers: [{ name: 'c', image: 'img:1' }], ...spec },
  });

  it('status changes only through /status; spec changes bump generation', async () => {
    const SVC = '/api/v1/namespaces/default/services';
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'st' },
      spec: { ports: [{ port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: '9.9.9.9' }] } },
    };
    const created = (await s.req('POST', SVC, svc)).body;
    expect(created.spec.clusterIP).toBeTruthy();
    const lb = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
    const st = await s.req(
      'PATCH',
      `${SVC}/st/status`,
      { status: lb, spec: { type: 'NodePort' } },
      'application/merge-patch+json',
    );
    expect(st.body.status).toEqual(lb);
    expect(st.body.spec.type).toBe('ClusterIP');
    expect(st.body.metadata.generation).toBe(1);
    const main = await s.req(
      'PATCH',
      `${SVC}/st`,
      { status: { loadBalancer: {} }, spec: { ports: [{ port: 81 }] } },
      'application/strategic-merge-patch+json',
    );
    expect(main.body.status).toEqual(lb);
    expect(main.body.spec.ports.map((p: { port: number }) => p.port)).toEqual([80, 81]);
    expect(main.body.metadata.generation).toBe(2);
  });

  it('finalizers hold an object with deletionTimestamp until removed', async () => {
    await s.req('POST', PODS, pod('fin', { finalizers: ['example.com/hold'] }));
    const del = await s.req('DELETE', `${PODS}/fin`);
    expect(del.status).toBe(202);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    expect((await s.req('GET', `${PODS}/fin`)).body.metadata.deletionTimestamp).toBeTruthy();
    const added = await s.req(
      'PATCH',
      `${PODS}/fin`,
      { metadata: { finalizers: ['example.com/hold', 'example.com/new'] } },
      'application/merge-patch+json',
    );
    expect(added.status).toBe(422);
    await s.req('PATCH', `${PODS}/fin`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
    expect((await s.req('GET', `${PODS}/fin`)).status).toBe(404);
  });

  it('background propagation deletes dependents after the owner', async () => {
    const owner = (await s.req('POST', CM, cm('owner-bg'))).body;
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner-bg', uid: owner.metadata.uid };
    await s.req('POST', CM, { ...cm('dep-bg'), metadata: { name: 'dep-bg', ownerReferences: [ref] } });
    await s.req('DELETE', `${CM}/owner-bg`);
    expect((await s.req('GET', `${CM}/owner-bg`)).status).toBe(404); // background: the owner goes at once
    await eventually(async () => (await s.req('GET', `${CM}/dep-bg`)).status === 404);
  });

  it('foreground propagation waits for blocking dependents; orphan keeps them', async () => {
    const owner = (await s.req('POST', CM, cm('owner-fg'))).body;
    const ref = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'owner-fg',
      uid: owner.metadata.uid,
      blockOwnerDeletion: true,
    };
    await s.req('POST', PODS, pod('dep-fg', { ownerReferences: [ref], finalizers: ['example.com/slow'] }));
    const del = await s.req('DELETE', `${CM}/owner-fg`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Foreground',
    });
    expect(del.body.metadata.finalizers).toContain('foregroundDeletion');
    await eventually(async () => (await s.req('GET', `${PODS}/dep-fg`)).body.metadata?.deletionTimestamp);
    await new Promise((r) => setTimeout(r, 100));
    expect((await s.req('GET', `${CM}/owner-fg`)).status).toBe(200); // still waiting on the dependent
    await s.req('PATCH', `${PODS}/dep-fg`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
    await eventually(async () => (await s.req('GET', `${CM}/owner-fg`)).status === 404);

    const o2 = (await s.req('POST', CM, cm('owner-or'))).body;
    await s.req('POST', CM, {
      ...cm('dep-or'),
      metadata: {
        name: 'dep-or',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner-or', uid: o2.metadata.uid }],
      },
    });
    await s.req('DELETE', `${CM}/owner-or?propagationPolicy=Orphan`);
    await new Promise((r) => setTimeout(r, 150));
    const orphan = await s.req('GET', `${CM}/dep-or`);
    expect(orphan.status).toBe(200);
    expect(orphan.body.metadata.ownerReferences).toBeUndefined();
  });

  it('deleting a namespace deletes its content, Terminating meanwhile', async () => {
    await s.req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await s.req('POST', '/api/v1/namespaces/doomed/configmaps', cm('inside'));
    await s.req('POST', '/api/v1/namespaces/doomed/pods', pod('held', { finalizers: ['example.com/hold'] }));
    const del = await s.req('DELETE', '/api/v1/namespaces/doomed');
    expect(del.body.status.phase).toBe('Terminating');
    expect((await s.req('POST', '/api/v1/namespaces/doomed/configmaps', cm('late'))).status).toBe(403);
    await eventually(async () => (await s.req('GET', '/api/v1/namespaces/doomed/configmaps/inside')).status === 404);
    expect((await s.req('GET', '/api/v1/namespaces/doomed')).status).toBe(200);
    await s.req(
      'PATCH',
      '/api/v1/namespaces/doomed/pods/held',
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    await eventually(async () => (await s.req('GET', '/api/v1/namespaces/doomed')).status === 404);
  });
});

describe('volumes', () => {
  const PVC = '/api/v1/namespaces/default/persistentvolumeclaims';
  const claim = (name: string, storageClassName?: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  });

  it('provisions a bound hostPath PV; pvc-protection waits for the pod; Delete reclaims', async () => {
    await s.req('POST', PVC, claim('data-1'));
    const bound = await eventually(async () => {
      const c = (await s.req('GET', `${PVC}/data-1`)).body;
      return c.status.phase === 'Bound' && c;
    });
    expect(bound.metadata.finalizers).toContain('kubernetes.io/pvc-protection');
    const pvName = `pvc-${bound.metadata.uid}`;
    expect(bound.spec.volumeName).toBe(pvName);
    const pv = (await s.req('GET', `/api/v1/persistentvolumes/${pvName}`)).body;
    expect(pv).toMatchObject({
      spec: {
        capacity: { storage: '1Gi' },
        storageClassName: 'standard',
        persistentVolumeReclaimPolicy: 'Delete',
        claimRef: { name: 'data-1' },
      },
      status: { phase: 'Bound' },
    });
    expect(pv.spec.hostPath.path).toBe(join(s.dir, 'volumes', pvName));
    expect(statSync(pv.spec.hostPath.path).mode & 0o777).toBe(0o700);

    await s.req('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user', labels: { 'cnpg.io/cluster': 'x' } },
      spec: {
        containers: [{ name: 'c', image: 'i' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data-1' } }],
      },
    });
    await s.req('DELETE', `${PVC}/data-1`);
    await new Promise((r) => setTimeout(r, 150));
    expect((await s.req('GET', `${PVC}/data-1`)).body.metadata.deletionTimestamp).toBeTruthy();
    await s.req('DELETE', '/api/v1/namespaces/default/pods/user');
    await eventually(async () => (await s.req('GET', `${PVC}/data-1`)).status === 404);
    // The claim is gone; the provisioner deletes the disk, then the PV, seconds later (pv_controller.go).
    const released = (await eventually(async () => {
      const b = (await s.req('GET', `/api/v1/persistentvolumes/${pvName}`)).body;
      return b.status?.phase === 'Released' && Date.now();
    })) as number;
    expect(existsSync(pv.spec.hostPath.path)).toBe(true);
    await eventually(async () => (await s.req('GET', `/api/v1/persistentvolumes/${pvName}`)).status === 404, 10_000);
    expect(Date.now() - released).toBeGreaterThan(VOLUME_DELETE_DELAY_MS - 500);
    expect(existsSync(pv.spec.hostPath.path)).toBe(false);
  });

  it('Retain keeps a Released PV and its directory; unknown classes stay Pending with an event', async () => {
    await s.req('POST', PVC, claim('kept', 'retain'));
    const c = await eventually(async () => {
      const b = (await s.req('GET', `${PVC}/kept`)).body;
      return b.status.phase === 'Bound' && b;
    });
    await s.req('DELETE', `${PVC}/kept`);
    const pv = await eventually(async () => {
      const b = (await s.req('GET', `/api/v1/persistentvolumes/${c.spec.volumeName}`)).body;
      return b.status?.phase === 'Released' && b;
    });
    expect(existsSync(pv.spec.hostPath.path)).toBe(true);

    await s.req('POST', PVC, claim('lost', 'no-such-class'));
    const ev = await eventually(
      async () =>
        (await s.req('GET', '/api/v1/namespaces/default/events?fieldSelector=reason%3DProvisioningFailed')).body
          .items[0],
    );
    expect(ev).toMatchObject({ type: 'Warning', involvedObject: { kind: 'PersistentVolumeClaim', name: 'lost' } });
    expect((await s.req('GET', `${PVC}/lost`)).body.status.phase).toBe('Pending');
  });
});

describe('CRDs and admission', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gizmos.test.example.com' },
    spec: {
      group: 'test.example.com',
      names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', shortNames: ['gz'] },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  const GZ = '/apis/test.example.com/v1/namespaces/default/gizmos';

  it('serves a CRD once Established and stops (deleting its objects) when it is removed', async () => {
    expect((await s.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    const est = await eventually(async () => {
      const c = (await s.req('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.test.example.com'))
        .body;
      return c.status?.conditions?.find((x: { type: string }) => x.type === 'Established')?.status === 'True' && c;
    });
    expect(est.status.conditions.find((x: { type: string }) => x.type === 'NamesAccepted').status).toBe('True');
    const disc = (await s.req('GET', '/apis/test.example.com/v1')).body.resources.map((r: { name: string }) => r.name);
    expect(disc).toEqual(['gizmos', 'gizmos/status']);
    expect(
      (
        await s.req('POST', GZ, {
          apiVersion: 'test.example.com/v1',
          kind: 'Gizmo',
          metadata: { name: 'g1' },
          spec: { n: 1 },
          status: { s: 1 },
        })
      ).body.status,
    ).toBeUndefined();
    expect(
      (await s.req('PATCH', `${GZ}/g1`, { spec: { n: 2 } }, 'application/strategic-merge-patch+json')).status,
    ).toBe(415);
    s.store.addAdmission('test.example.com/v1/gizmos', (op, obj) => {
      if (obj.spec?.n > 10)
        throw new ApiError(
          400,
          'BadRequest',
          'admission webhook "vgizmo.test.example.com" denied the request: n too large',
        );
      obj.metadata.labels = { ...obj.metadata.labels, defaulted: op.toLowerCase() };
    });
    const denied = await s.req('POST', GZ, {
      apiVersion: 'test.example.com/v1',
      kind: 'Gizmo',
      metadata: { name: 'big' },
      spec: { n: 11 },
    });
    expect(denied.body).toMatchObject({ code: 400, message: expect.stringContaining('denied the request') });
    expect(
      (
        await s.req('POST', `${GZ}?dryRun=All`, {
          apiVersion: 'test.example.com/v1',
          kind: 'Gizmo',
          metadata: { name: 'big' },
          spec: { n: 11 },
        })
      ).status,
    ).toBe(400);
    const ok = await s.req('PATCH', `${GZ}/g1`, { spec: { n: 3 } }, 'application/merge-patch+json');
    expect(ok.body.metadata.labels.defaulted).toBe('update');

    await s.req('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.test.example.com');
    await eventually(
      async () =>
        (await s.req('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.test.example.com'))
          .status === 404,
    );
    expect((await s.req('GET', GZ)).status).toBe(404);
  });
});

describe('workloads', () => {
  const DEP = '/apis/apps/v1/namespaces/default/deployments';
  const deploy = (name: string, image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 2,
      progressDeadlineSeconds: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
    },
  });

  it('rolls a Deployment out to Available, rolls a new template, serves pod logs', async () => {
    await s.req('POST', DEP, deploy('web', 'nginx:1'));
    const ready = async () => {
      const d = (await s.req('GET', `${DEP}/web`)).body;
      const prog = d.status?.conditions?.find((c: { type: string }) => c.type === 'Progressing');
      return (
        d.status?.observedGeneration === d.metadata.generation &&
        d.status?.availableReplicas === 2 &&
        d.status?.updatedReplicas === 2 &&
        d.status?.replicas === 2 &&
        prog?.reason === 'NewReplicaSetAvailable' &&
        d
      );
    };
    await eventually(ready);
    const pods = (await s.req('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body.items;
    expect(pods).toHaveLength(2);
    expect(pods[0].status.phase).toBe('Running');
    expect(pods[0].metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    const log = await s.req('GET', `/api/v1/namespaces/default/pods/${pods[0].metadata.name}/log`);
    expect(log.body).toContain('started container c');
    expect((await s.req('GET', '/api/v1/namespaces/default/pods/nope/log')).status).toBe(404);

    await s.req(
      'PATCH',
      `${DEP}/web`,
      { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } },
      'application/strategic-merge-patch+json',
    );
    await eventually(async () => {
      const d = await ready();
      return d && d.metadata.generation === 2;
    });
    const rss = (await s.req('GET', '/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb')).body.items;
    expect(rss).toHaveLength(2);
    expect(rss.map((r: KubeObject) => r.spec.replicas).sort()).toEqual([0, 2]);
    await s.req('DELETE', `${DEP}/web`);
    await eventually(
      async () =>
        (await s.req('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body.items.length === 0,
    );
  });

  it('an unpullable image stays in ImagePullBackOff and the rollout exceeds its deadline', async () => {
    await s.req('POST', DEP, deploy('broken', 'registry.example.com/does-not-exist:1'));
    const d = await eventually(async () => {
      const b = (await s.req('GET', `${DEP}/broken`)).body;
      return (
        b.status?.conditions?.find((c: { type: string; reason: string }) => c.reason === 'ProgressDeadlineExceeded') &&
        b
      );
    }, 5000);
    expect(d.status.conditions.find((c: { type: string }) => c.type === 'Available').status).toBe('False');
    // The kubelet reports the pull failure on its own schedule: the deadline may pass first.
    const pod = await eventually(async () => {
      const p = (await s.req('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dbroken')).body.items[0];
      return p?.status?.containerStatuses?.[0] && p;
    }, 5000);
    expect(pod.status.phase).toBe('Pending');
    expect(pod.status.containerStatuses[0].state.waiting.reason).toBe('ImagePullBackOff');
    const failed = (await s.req('GET', '/api/v1/namespaces/default/events?fieldSelector=reason%3DFailed')).body.items;
    expect(failed.some((e: KubeObject) => e.type === 'Warning' && e.message.startsWith('Failed to pull image'))).toBe(
      true,
    );
  });

  it('runs a generic Job to Complete', async () => {
    await s.req('POST', '/apis/batch/v1/namespaces/default/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1' }] } } },
    });
    const j = await eventually(async () => {
      const b = (await s.req('GET', '/apis/batch/v1/namespaces/default/jobs/once')).body;
      return b.status?.conditions?.some((c: { type: string }) => c.type === 'Complete') && b;
    });
    expect(j.status.succeeded).toBe(1);
  });

  it('fails a Job past activeDeadlineSeconds (DeadlineExceeded) and deletes its active pod', async () => {
    await s.req('POST', '/apis/batch/v1/namespaces/default/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'stuck' },
      // An image that cannot be pulled: the pod never finishes on its own.
      spec: {
        activeDeadlineSeconds: 1,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'does-not-exist:1' }] } },
      },
    });
    const j = await eventually(async () => {
      const b = (await s.req('GET', '/apis/batch/v1/namespaces/default/jobs/stuck')).body;
      return b.status?.conditions?.some((c: { type: string }) => c.type === 'Failed') && b;
    }, 5000);
    expect(j.status.conditions.map((c: { type: string; reason: string }) => `${c.type}:${c.reason}`)).toEqual([
      'FailureTarget:DeadlineExceeded',
      'Failed:DeadlineExceeded',
    ]);
    await eventually(
      async () =>
        (await s.req('GET', '/api/v1/namespaces/default/pods?labelSelector=job-name%3Dstuck')).body.items.length === 0,
      5000,
    );
  });
});

describe('batch/v1 CronJob', () => {
  const CJ = '/apis/batch/v1/namespaces/default/cronjobs';
  const cronJob = (
    name: string,
    spec: Record<string, unknown>,
    pod: Record<string, unknown> = { restartPolicy: 'Never' },
  ) => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      jobTemplate: { spec: { template: { spec: { ...pod, containers: [{ name: 'c', image: 'busybox:1' }] } } } },
      ...spec,
    },
  });

  it('is served (short name cj) and defaulted as the API server does', async () => {
    const discovery = (await s.req('GET', '/apis/batch/v1')).body.resources;
    expect(discovery).toContainEqual(
      expect.objectContaining({ name: 'cronjobs', kind: 'CronJob', shortNames: ['cj'] }),
    );
    const r = await s.req('POST', CJ, cronJob('nightly', { schedule: '0 6 * * 1', timeZone: 'Etc/UTC' }));
    expect(r.status).toBe(201);
    expect(r.body.spec).toMatchObject({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(
      (await s.req('POST', CJ, cronJob('hourly', { schedule: '@hourly', concurrencyPolicy: 'Forbid' }))).status,
    ).toBe(201);
  });

  it('refuses what validateCronJobSpec refuses, with its messages', async () => {
    const refused = async (name: string, spec: Record<string, unknown>, pod?: Record<string, unknown>) => {
      const r = await s.req('POST', CJ, cronJob(name, spec, pod));
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      return r.body.message as string;
    };
    expect(await refused('few', { schedule: '0 6 * *' })).toContain(
      'spec.schedule: Invalid value: "0 6 * *": expected exactly 5 fields, found 4: [0 6 * *]',
    );
    expect(await refused('minute', { schedule: '60 * * * *' })).toContain('end of range (60) above maximum (59): 60');
    expect(await refused('tz', { schedule: 'CRON_TZ=UTC 0 6 * * 1' })).toContain(
      'cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    );
    expect(await refused('zone', { schedule: '0 6 * * 1', timeZone: 'Mars/Olympus' })).toContain(
      'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
    );
    expect(await refused('policy', { schedule: '0 6 * * 1', concurrencyPolicy: 'Never' })).toContain(
      'spec.concurrencyPolicy: Unsupported value: "Never": supported values: "Allow", "Forbid", "Replace"',
    );
    expect(await refused('restart', { schedule: '0 6 * * 1' }, {})).toContain(
      'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always"',
    );
    expect(await refused('x'.repeat(53), { schedule: '0 6 * * 1' })).toContain('must be no more than 52 characters');
    expect(await refused('noschedule', {})).toContain('spec.schedule: Required value');
  });
});

describe('@kubernetes/client-node 1.4', () => {
  let dir: string;
  let kc: k8s.KubeConfig;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(s.url));
    kc = new k8s.KubeConfig();
    kc.loadFromFile(join(dir, 'kubeconfig'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists, creates, patches and watches', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'from-client', labels: { via: 'client' } }, data: { k: 'v' } },
    });
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'via=client' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['from-client']);
    const patched = await core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'from-client', body: { data: { k: 'v2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(patched.data?.k).toBe('v2');
    await expect(core.readNamespacedConfigMap({ namespace: 'default', name: 'missing' })).rejects.toMatchObject({
      code: 404,
    });

    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { labelSelector: 'via=client', resourceVersion: list.metadata?.resourceVersion },
      (type, obj) => seen.push(`${type}:${obj.metadata.name}:${obj.data?.k}`),
      () => {},
    );
    await core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'from-client', body: { data: { k: 'v3' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'from-client' });
    await eventually(() => seen.length >= 3);
    req.abort();
    expect(seen).toEqual(['MODIFIED:from-client:v2', 'MODIFIED:from-client:v3', 'DELETED:from-client:v3']);
  });
});
