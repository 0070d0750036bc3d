// The process runtime (apiserver/controllers/process-runtime.ts) on its own: what a pod's process sees
// (env as the kubelet builds it, the ServiceAccount files at the in-cluster path, an emptyDir, a
// read-only root), its exit code as the pod's end, SIGTERM on deletion, and what it refuses.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './apiserver/testing.js';
import { ProcessRuntime } from './apiserver/controllers/process-runtime.js';
import type { KubeObject } from './types.js';

let s: TestServer;
let runtime: ProcessRuntime;
const scripts: Record<string, string> = {};
const POD = '/api/v1/namespaces/default/pods';

beforeAll(async () => {
  s = await startTestServer();
  runtime = new ProcessRuntime(s.store, s.logs, s.controllers.runtimes, {
    name: 'test-images',
    image: (ref) => {
      const script = scripts[ref.replace(/^example\//, '').replace(/:.*$/, '')];
      return script === undefined
        ? undefined
        : {
            entrypoint: [process.execPath, '-e', script],
            cmd: ['from-cmd'],
            env: { FROM_IMAGE: 'yes' },
            workingDir: '/',
          };
    },
    token: (ns, sa) => `token-of-${ns}-${sa}`,
    apiServer: { host: '127.0.0.1', port: String(s.port), ca: 'the-ca' },
    dataDir: mkdtempSync(join(tmpdir(), 'process-runtime-')),
  });
});
afterAll(async () => {
  await runtime?.stop();
  await s?.stop();
});

const pod = (name: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { restartPolicy: 'Never', serviceAccountName: 'runner', ...spec, containers: [{ name: 'main', ...container }] },
});
const ended = async (name: string): Promise<KubeObject> =>
  (await eventually(async () => {
    const p: KubeObject = (await s.req('GET', `${POD}/${name}`)).body;
    return ['Succeeded', 'Failed'].includes(p.status?.phase) && p;
  }, 10_000)) as KubeObject;

describe('process runtime', () => {
  it('runs the container as the kubelet would set it up; the exit code ends the pod', async () => {
    scripts.env = `
      const fs = require('node:fs');
      const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
      const read = (f) => fs.readFileSync(sa + '/' + f, 'utf8');
      fs.writeFileSync('/srv/x', 'ok');
      let root = 'writable';
      try { fs.writeFileSync('/etc/process-runtime-test', 'x'); } catch (e) { root = e.code; }
      console.log(JSON.stringify({ argv: process.argv.slice(1), env: process.env, token: read('token'), ca: read('ca.crt'),
        ns: read('namespace'), scratch: fs.readFileSync('/srv/x', 'utf8'), root }));
      process.exit(7);`;
    await s.req('POST', '/api/v1/namespaces/default/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { url: 'https://hooks.example/x' },
    });
    const container = {
      image: 'example/env:1',
      args: ['a1'],
      env: [
        { name: 'PLAIN', value: 'v' },
        { name: 'URL', valueFrom: { secretKeyRef: { name: 'creds', key: 'url' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ],
      // An emptyDir at an existing host directory: the process's own, the host's /srv untouched.
      volumeMounts: [{ name: 'scratch', mountPath: '/srv' }],
      securityContext: { readOnlyRootFilesystem: true },
    };
    expect(
      (await s.req('POST', POD, pod('env', container, { volumes: [{ name: 'scratch', emptyDir: {} }] }))).status,
    ).toBe(201);
    const p = await ended('env');
    expect(p.status.phase).toBe('Failed');
    expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 7, reason: 'Error' });
    const seen = JSON.parse(s.logs.read('default', 'env', 'main'));
    expect(seen.argv).toEqual(['a1']); // args replace the image's CMD
    expect(seen.env).toMatchObject({
      PLAIN: 'v',
      URL: 'https://hooks.example/x',
      NS: 'default',
      FROM_IMAGE: 'yes',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(s.port),
    });
    expect(seen).toMatchObject({
      token: 'token-of-default-runner',
      ca: 'the-ca',
      ns: 'default',
      scratch: 'ok',
      root: 'EROFS',
    });
    // Nothing of the pod's mounts leaks to the host.
    expect(existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')).toBe(false);
    expect(existsSync('/srv/x')).toBe(false);
  });

  it('deleting the pod SIGTERMs the process; the pod goes once it exited', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'process-runtime-term-')), 'got');
    scripts.term = `process.on('SIGTERM', () => { require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'TERM');
      process.exit(0); }); console.log('waiting'); setInterval(() => {}, 1000);`;
    await s.req('POST', POD, pod('term', { image: 'example/term:1' }));
    await eventually(() => s.logs.read('default', 'term', 'main').includes('waiting'), 10_000);
    await s.req('DELETE', `${POD}/term`);
    await eventually(async () => (await s.req('GET', `${POD}/term`)).status === 404, 10_000);
    expect(readFileSync(marker, 'utf8')).toBe('TERM');
  });

  it('refuses loudly what it does not emulate: the pod fails with the reason', async () => {
    scripts.nope = 'process.exit(0)';
    const env = [{ name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } }];
    await s.req('POST', POD, pod('nope', { image: 'example/nope:1', env }));
    const p = await ended('nope');
    expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 128, reason: 'StartError' });
    expect(s.logs.read('default', 'nope', 'main')).toContain('supports env MEM from resourceFieldRef');
  });
});
