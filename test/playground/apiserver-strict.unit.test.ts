// The API server is as strict as a real one (CONFORMANCE.md sections 1 and 3): names per kind,
// generateName, label keys and values, pod templates; Jobs with Kubernetes' pod-failure back-off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from './types.js';
import { eventually, startTestServer, type TestServer } from './apiserver/testing.js';
import { podFailureBackoffMs } from './apiserver/controllers/jobs.js';

// Job back-off at 1/100 of Kubernetes' (the playground's is 1/20): 100 ms, then 200 ms.
const JOB_TIME_SCALE = 1 / 100;
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ jobTimeScale: JOB_TIME_SCALE });
});
afterAll(async () => {
  await s?.stop();
});

const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'default', ...extra });
const objects: Record<string, (name: string) => KubeObject> = {
  'v1/configmaps': (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(name), data: {} }),
  'v1/secrets': (name) => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta(name) }),
  'v1/services': (name) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name),
    spec: { ports: [{ port: 5432 }] },
  }),
  'v1/namespaces': (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  'rbac.authorization.k8s.io/v1/roles': (name) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(name),
    rules: [],
  }),
};
const status = (gvr: string, name: string) => {
  try {
    s.store.create(gvr, objects[gvr](name));
    return 201;
  } catch (err) {
    return (err as { code: number }).code;
  }
};

describe('object names per kind (pkg/apis/core/validation, rbac/validation, customresource strategy)', () => {
  it('Services are RFC 1035 labels, Namespaces RFC 1123 labels, Secrets subdomains, RBAC path segments', () => {
    expect(status('v1/services', '1st-service')).toBe(422); // a DNS-1035 label starts with a letter
    expect(status('v1/services', 'a.b')).toBe(422);
    expect(status('v1/services', 'svc-'.padEnd(64, 'x'))).toBe(422);
    expect(status('v1/services', 'svc-'.padEnd(63, 'x'))).toBe(201);
    expect(status('v1/namespaces', '1st-namespace')).toBe(201);
    expect(status('v1/namespaces', 'ns.with.dots')).toBe(422);
    expect(status('v1/secrets', 'with.dots.1')).toBe(201);
    expect(status('v1/secrets', 'x'.repeat(254))).toBe(422);
    expect(status('v1/configmaps', 'Upper')).toBe(422);
    expect(status('rbac.authorization.k8s.io/v1/roles', 'system:controller:cnpg')).toBe(201);
    expect(status('rbac.authorization.k8s.io/v1/roles', 'a/b')).toBe(422);
  });

  it('the message names the rule and the limit, like the real one', () => {
    let msg = '';
    try {
      s.store.create('v1/services', objects['v1/services']('1st-service'));
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain(
      'Service "1st-service" is invalid: metadata.name: Invalid value: "1st-service": a DNS-1035 label must consist of lower case alphanumeric characters',
    );
    try {
      s.store.create('v1/configmaps', {
        ...objects['v1/configmaps']('cm-long-label'),
        metadata: meta('cm-long-label', { labels: { app: 'v'.repeat(64) } }),
      });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain('must be no more than 63 characters');
  });

  it('generateName keeps at most 58 characters of the prefix, then 5 random ones', () => {
    const prefix = `${'a-very-long-generated-name-prefix-for-a-playground-object-'.repeat(2)}`;
    const o = s.store.create('v1/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: '', generateName: prefix, namespace: 'default' },
    });
    expect(o.metadata.name).toHaveLength(63);
    expect(o.metadata.name.startsWith(prefix.slice(0, 58))).toBe(true);
  });

  it('pod templates carry valid labels and DNS-label hostnames: a Job named over 63 characters is refused', () => {
    const job = (name: string, hostname?: string): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta(name),
      spec: {
        template: {
          spec: {
            ...(hostname ? { hostname } : {}),
            restartPolicy: 'Never',
            containers: [{ name: 'main', image: 'busybox:1.36' }],
          },
        },
      },
    });
    const long = 'a-long-cluster-name-of-fifty-characters-exactly-ab-1-full-recovery';
    expect(() => s.store.create('batch/v1/jobs', job(long))).toThrow(
      /spec.template.metadata.labels: Invalid value: .*must be no more than 63 characters/,
    );
    expect(() => s.store.create('batch/v1/jobs', job('short-name', long))).toThrow(/spec.template.spec.hostname/);
    const ok = s.store.create('batch/v1/jobs', job('short-name'));
    expect(ok.spec.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': ok.metadata.uid } });
    expect(ok.spec.template.metadata.labels).toMatchObject({
      'batch.kubernetes.io/job-name': 'short-name',
      'job-name': 'short-name',
    });
    expect(() =>
      s.store.create('v1/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: meta('p'),
        spec: { subdomain: 'Bad_Sub', containers: [{ name: 'c', image: 'busybox:1.36' }] },
      }),
    ).toThrow(/spec.subdomain/);
  });
});

describe('Job back-off (pkg/controller/job)', () => {
  it('10s doubling per failure, capped at 10 minutes, scaled', () => {
    expect([1, 2, 3, 4, 7, 8].map((n) => podFailureBackoffMs(n))).toEqual([
      10_000, 20_000, 40_000, 80_000, 600_000, 600_000,
    ]);
    expect(podFailureBackoffMs(1, 1 / 20)).toBe(500);
  });

  it('a failing Job: each pod counted once, back-off between attempts, then BackoffLimitExceeded', async () => {
    s.store.create('batch/v1/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('always-fails'),
      spec: {
        backoffLimit: 2,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] } },
      },
    });
    const failedAt: number[] = [];
    // Play the kubelet: fail every pod of the Job as soon as it appears.
    const stop = s.store.watch('v1/pods', 'default', {}, (ev) => {
      const p = ev.object;
      if (ev.type !== 'ADDED' || p.metadata.labels?.['job-name'] !== 'always-fails') return;
      queueMicrotask(() => {
        failedAt.push(Date.now());
        s.store.mutate('v1/pods', 'default', p.metadata.name, (o) => void (o.status = { phase: 'Failed' }), {
          status: true,
        });
      });
    });
    const job = await eventually(() => {
      const j = s.store.get('batch/v1/jobs', 'default', 'always-fails')!;
      if (!j.status?.conditions?.some((c: { type: string }) => c.type === 'Failed')) throw new Error('not failed yet');
      return j;
    }, 20_000);
    stop();
    expect(job.status.failed).toBe(3);
    expect(job.status.conditions.map((c: { type: string; reason: string }) => `${c.type}/${c.reason}`)).toEqual([
      'FailureTarget/BackoffLimitExceeded',
      'Failed/BackoffLimitExceeded',
    ]);
    expect(failedAt).toHaveLength(3);
    // Scaled: 10 s before the 2nd pod, 20 s before the 3rd, less 10% (order kept, time scaled down).
    expect(failedAt[1] - failedAt[0]).toBeGreaterThanOrEqual(0.9 * podFailureBackoffMs(1, JOB_TIME_SCALE));
    expect(failedAt[2] - failedAt[1]).toBeGreaterThanOrEqual(0.9 * podFailureBackoffMs(2, JOB_TIME_SCALE));
    const pods = s.store.list('v1/pods', 'default', { labelSelector: 'job-name=always-fails' }).items;
    expect(pods.every((p) => !p.metadata.finalizers?.includes('batch.kubernetes.io/job-tracking'))).toBe(true);
  });
});

describe('Secret types (ValidateSecret, pkg/apis/core/validation/validation.go)', () => {
  const secret = (name: string, type: string, data: Record<string, string>, annotations?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, annotations },
    type,
    stringData: data,
  });
  const POST = '/api/v1/namespaces/default/secrets';
  it('kubernetes.io/tls needs tls.crt and tls.key; a CA-only copy of a cert-manager secret is refused', async () => {
    const r = await s.req('POST', POST, secret('ca-only', 'kubernetes.io/tls', { 'ca.crt': 'x' }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe(
      'Secret "ca-only" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]',
    );
    const ok = secret('full', 'kubernetes.io/tls', { 'ca.crt': 'x', 'tls.crt': 'c', 'tls.key': 'k' });
    expect((await s.req('POST', POST, ok)).status).toBe(201);
  });
  it('basic-auth needs username or password; dockerconfigjson valid JSON; service-account-token its annotation', async () => {
    expect((await s.req('POST', POST, secret('ba', 'kubernetes.io/basic-auth', { other: 'x' }))).status).toBe(422);
    expect((await s.req('POST', POST, secret('ba2', 'kubernetes.io/basic-auth', { password: '' }))).status).toBe(201);
    const bad = secret('pull', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': 'not json' });
    expect((await s.req('POST', POST, bad)).status).toBe(422);
    const pull = secret('pull2', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': '{"auths":{}}' });
    expect((await s.req('POST', POST, pull)).status).toBe(201);
    expect((await s.req('POST', POST, secret('sat', 'kubernetes.io/service-account-token', {}))).status).toBe(422);
    expect((await s.req('POST', POST, secret('k', 'Opaque', { 'bad key': 'x' }))).status).toBe(422);
    expect((await s.req('POST', POST, secret('any', 'example.com/custom', {}))).status).toBe(201);
  });
});
