// RBAC in the API server emulator (apiserver/authz.ts): tokens minted through TokenRequest,
// 403 outside a Role, 200 inside it, subresources, resourceNames, wildcards, non-resource
// URLs, SelfSubjectAccessReview; checked with raw HTTP, client-node 1.4 and kubectl.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './apiserver/testing.js';
import { kubeconfigYaml, REPO_ROOT } from './playground.js';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const NS = 'Drill-Sandbox'.toLowerCase();
let s: TestServer;
let token: string;

async function as(tok: string | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: {
      ...(tok ? { Authorization: `Bearer ${tok}` } : {}),
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}
const admin = (method: string, path: string, body?: unknown) => as('playground-token', method, path, body);

beforeAll(async () => {
  s = await startTestServer({ rbac: true });
  for (const ns of [NS, 'production'])
    await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await admin('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'restore-drill' },
  });
  await admin('POST', `${RBAC}/namespaces/production/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'drill-live-read' },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['pg-Live-app'.toLowerCase()] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get'] },
    ],
  });
  await admin('POST', `${RBAC}/namespaces/production/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'drill-live-read' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'drill-live-read' },
    subjects: [{ kind: 'ServiceAccount', name: 'restore-drill', namespace: NS }],
  });
  await admin('POST', `${RBAC}/clusterroles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'drill-sandbox-write' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  // A ClusterRole bound by a RoleBinding grants only inside the binding's namespace.
  await admin('POST', `${RBAC}/namespaces/${NS}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'drill-sandbox-write' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'drill-sandbox-write' },
    subjects: [{ kind: 'ServiceAccount', name: 'restore-drill' }],
  });
  for (const [ns, name] of [
    ['production', 'pg-live-app'],
    ['production', 'pg-live-superuser'],
  ]) {
    await admin('POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name },
      stringData: { password: 'x' },
    });
  }
  const tr = await admin('POST', `/api/v1/namespaces/${NS}/serviceaccounts/restore-drill/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  expect(tr.status).toBe(201);
  token = tr.body.status.token;
});
afterAll(async () => {
  await s?.stop();
});

describe('authentication', () => {
  it('TokenRequest answers a JWT-shaped token; unknown tokens are 401', async () => {
    expect(token.split('.')).toHaveLength(3);
    const bad = await as(`${token.slice(0, -2)}xx`, 'GET', '/api');
    expect(bad).toMatchObject({
      status: 401,
      body: { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized', code: 401 },
    });
    expect((await admin('POST', `/api/v1/namespaces/${NS}/serviceaccounts/missing/token`, {})).status).toBe(404);
  });

  it('anonymous requests are authorized as system:anonymous (403 outside discovery)', async () => {
    const r = await as(undefined, 'GET', '/api/v1/namespaces/production/configmaps');
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      'configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "production"',
    );
  });

  it('a token dies with its ServiceAccount', async () => {
    await admin('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'short-lived' },
    });
    const t = s.mintToken(NS, 'short-lived');
    expect((await as(t, 'GET', '/apis')).status).toBe(200);
    await admin('DELETE', `/api/v1/namespaces/${NS}/serviceaccounts/short-lived`);
    expect((await as(t, 'GET', '/apis')).status).toBe(401);
  });
});

describe('authorization', () => {
  it('allows what the Role grants and answers 403 with the apiserver message outside it', async () => {
    expect((await as(token, 'GET', '/api/v1/namespaces/production/configmaps')).status).toBe(200);
    const del = await as(token, 'DELETE', '/api/v1/namespaces/production/configmaps/x');
    expect(del).toMatchObject({
      status: 403,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        details: { name: 'x', kind: 'configmaps' },
      },
    });
    expect(del.body.message).toBe(
      `configmaps "x" is forbidden: User "system:serviceaccount:${NS}:restore-drill" cannot delete resource "configmaps" in API group "" in the namespace "production"`,
    );
    const crd = await as(token, 'GET', '/apis/postgresql.cnpg.io/v1/namespaces/production/clusters');
    expect(crd.body.message).toBe(
      `clusters.postgresql.cnpg.io is forbidden: User "system:serviceaccount:${NS}:restore-drill" cannot list resource "clusters" in API group "postgresql.cnpg.io" in the namespace "production"`,
    );
    const cluster = await as(token, 'GET', '/api/v1/namespaces');
    expect(cluster.body.message).toBe(
      `namespaces is forbidden: User "system:serviceaccount:${NS}:restore-drill" cannot list resource "namespaces" in API group "" at the cluster scope`,
    );
  });

  it('resourceNames limit a rule to named objects, also for a list by metadata.name', async () => {
    expect((await as(token, 'GET', '/api/v1/namespaces/production/secrets/pg-live-app')).status).toBe(200);
    expect((await as(token, 'GET', '/api/v1/namespaces/production/secrets/pg-live-superuser')).status).toBe(403);
    expect((await as(token, 'GET', '/api/v1/namespaces/production/secrets')).status).toBe(403);
    // resourceNames grant get only: a list (even by name) needs list.
    expect(
      (await as(token, 'GET', '/api/v1/namespaces/production/secrets?fieldSelector=metadata.name%3Dpg-live-app')).body
        .message,
    ).toContain('cannot list resource "secrets"');
    expect(
      (await as(token, 'GET', '/api/v1/namespaces/production/configmaps?fieldSelector=metadata.name%3Dx')).status,
    ).toBe(200);
  });

  it('subresources are separate resources: pods/log without pods', async () => {
    await admin('POST', '/api/v1/namespaces/production/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pg-live-1' },
      spec: { containers: [{ name: 'postgres', image: 'postgres' }] },
    });
    expect((await as(token, 'GET', '/api/v1/namespaces/production/pods/pg-live-1/log')).status).toBe(200);
    const pod = await as(token, 'GET', '/api/v1/namespaces/production/pods/pg-live-1');
    expect(pod.body.message).toContain('cannot get resource "pods" in API group ""');
    const status = await as(token, 'GET', '/api/v1/namespaces/production/pods/pg-live-1/status');
    expect(status.body.message).toBe(
      `pods "pg-live-1" is forbidden: User "system:serviceaccount:${NS}:restore-drill" cannot get resource "pods/status" in API group "" in the namespace "production"`,
    );
  });

  it('a port-forward upgrade needs get and create on pods/portforward', async () => {
    const upgrade = (tok: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(
          `${s.url.replace('http', 'ws')}/api/v1/namespaces/production/pods/pg-live-1/portforward?ports=5432`,
          ['v4.channel.k8s.io'],
          {
            headers: { Authorization: `Bearer ${tok}` },
          },
        );
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('open', () => (ws.close(), resolve({ status: 101, body: '' })));
        ws.on('error', (e) => (e.message.includes('Unexpected server response') ? undefined : reject(e)));
      });
    const denied = await upgrade(token);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).message).toBe(
      `pods "pg-live-1" is forbidden: User "system:serviceaccount:${NS}:restore-drill" cannot create resource "pods/portforward" in API group "" in the namespace "production"`,
    );
    const role = (await admin('GET', `${RBAC}/namespaces/production/roles/drill-live-read`)).body;
    role.rules[3].verbs.push('create');
    expect((await admin('PUT', `${RBAC}/namespaces/production/roles/drill-live-read`, role)).status).toBe(200);
    expect((await upgrade(token)).status).not.toBe(403);
  });

  it('wildcards: a ClusterRole with * through a RoleBinding covers every verb in that namespace only', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'drill-scratch' }, data: { a: '1' } };
    expect((await as(token, 'POST', `/api/v1/namespaces/${NS}/configmaps`, cm)).status).toBe(201);
    expect((await as(token, 'DELETE', `/api/v1/namespaces/${NS}/configmaps/drill-scratch`)).status).toBe(200);
    expect((await as(token, 'POST', `/api/v1/namespaces/${NS}/configmaps?dryRun=All`, cm)).status).toBe(201);
    expect((await as(token, 'POST', '/api/v1/namespaces/production/configmaps?dryRun=All', cm)).status).toBe(403);
    expect((await as(token, 'GET', '/api/v1/namespaces/default/configmaps')).status).toBe(403);
  });

  it('non-resource URLs: discovery for every authenticated user, others forbidden', async () => {
    for (const p of ['/api', '/apis', '/api/v1', '/apis/apps/v1', '/version', '/openapi/v3'])
      expect((await as(token, 'GET', p)).status, p).toBe(200);
    const metrics = await as(token, 'GET', '/metrics');
    expect(metrics).toMatchObject({
      status: 403,
      body: {
        reason: 'Forbidden',
        message: `forbidden: User "system:serviceaccount:${NS}:restore-drill" cannot get path "/metrics"`,
      },
    });
  });

  it('SelfSubjectAccessReview answers the same decisions', async () => {
    const ask = async (attrs: Record<string, string>) =>
      (
        await as(token, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: attrs },
        })
      ).body.status.allowed;
    expect(await ask({ namespace: 'production', verb: 'get', resource: 'secrets', name: 'pg-live-app' })).toBe(true);
    expect(await ask({ namespace: 'production', verb: 'get', resource: 'secrets', name: 'pg-live-superuser' })).toBe(
      false,
    );
    expect(
      await ask({ namespace: 'production', verb: 'delete', group: 'postgresql.cnpg.io', resource: 'clusters' }),
    ).toBe(false);
    expect(await ask({ namespace: NS, verb: 'delete', group: 'postgresql.cnpg.io', resource: 'clusters' })).toBe(true);
  });

  it('client-node 1.4 sees the 403 as an ApiException with the Status body', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml(s.url, token));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    expect((await core.readNamespacedSecret({ namespace: 'production', name: 'pg-live-app' })).metadata?.name).toBe(
      'pg-live-app',
    );
    const err = (await core
      .listNamespacedSecret({ namespace: 'production' })
      .catch((e: unknown) => e)) as k8s.ApiException<string>;
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'Forbidden', code: 403 });
  });

  it('kubectl (client-go) sends no token over plain http, so it is system:anonymous (kubernetes/kubectl#744)', async () => {
    const path = join(s.dir, 'kubeconfig-sa');
    writeFileSync(path, kubeconfigYaml(s.url, token), { mode: 0o600 });
    // Async: the API server runs in this process.
    const r = await promisify(execFile)(
      join(REPO_ROOT, '.tools', 'bin', 'kubectl'),
      ['--kubeconfig', path, 'get', 'secret', 'pg-live-app', '-n', 'production'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    ).then(
      () => ({ stderr: '' }),
      (e: { stderr: string }) => e,
    );
    // Discovery itself is refused to anonymous (system:discovery is bound to system:authenticated only).
    expect(r.stderr).toContain('Error from server (Forbidden)');
  });
});

describe('RBAC off (the default)', () => {
  it('every request is allowed and SelfSubjectAccessReview says so', async () => {
    const plain = await startTestServer();
    try {
      expect((await plain.req('GET', '/api/v1/namespaces/default/secrets')).status).toBe(200);
      const r = await plain.req('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        spec: { resourceAttributes: { verb: 'delete', resource: 'secrets' } },
      });
      expect(r.body.status.allowed).toBe(true);
    } finally {
      await plain.stop();
    }
  });
});
