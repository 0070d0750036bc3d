// What a README reader types against `npm run playground -- up --no-operator --rbac`: the real kubectl over
// HTTPS (the CA in the kubeconfig; kubectl sends bearer tokens only over TLS), the imperative commands that
// send protobuf (create serviceaccount/token/role/rolebinding), apply of a `kind: List` (client-side
// validation reads /openapi/v2 as protobuf), auth can-i and whoami as a ServiceAccount with its own token,
// platform-install of the upstream-shaped chart on the fresh cluster; then logs and port-forward over TLS.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { KubeConfig, PortForward } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUpstreamPlatform, upstreamDir } from '../fixtures/charts/upstream/build.js';
import { waitFor } from '../helpers/wait.js';
import { installer } from '../platform/e2e.js';
import { playgroundCli, readEnvFile } from './cli-testing.js';
import { REPO_ROOT, startPlayground } from './playground.js';
import type { PlaygroundHandle } from './types.js';

const run = promisify(execFile);
const KUBECTL = join(REPO_ROOT, '.tools', 'bin', 'kubectl');
const root = mkdtempSync(join(tmpdir(), 'kubectl-user-'));
const stateDir = join(root, 'state');
// A private HOME: kubectl's discovery and OpenAPI caches stay per test file.
const home = { HOME: root, XDG_CACHE_HOME: join(root, '.cache'), XDG_CONFIG_HOME: join(root, '.config') };
const cli = playgroundCli(stateDir);

async function kubectlWith(kubeconfig: string, args: string[], input?: string) {
  try {
    const p = run(KUBECTL, args, { env: { ...process.env, ...home, KUBECONFIG: kubeconfig }, timeout: 60_000 });
    if (input !== undefined) p.child.stdin!.end(input);
    const { stdout, stderr } = await p;
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

const LIST = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: from-list, namespace: demo}
  data: {greeting: hello}
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: listed, namespace: demo}
`;

describe('npm run playground -- up --no-operator --rbac', () => {
  let env: Record<string, string>;
  const kubectl = (...args: string[]) => kubectlWith(env.KUBECONFIG, args);
  const ok = async (...args: string[]) => {
    const r = await kubectl(...args);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.err}`).toBe(0);
    return r.out;
  };

  beforeAll(async () => {
    const up = await cli('up', '--no-operator', '--rbac');
    expect(up.code, up.out).toBe(0);
    env = readEnvFile(stateDir);
  }, 120_000);
  afterAll(async () => {
    await cli('down');
    rmSync(root, { recursive: true, force: true });
  });

  it('serves HTTPS; the kubeconfig and .playground/env carry the CA and nothing skips verification', async () => {
    expect(env.PLAYGROUND_API_URL).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(env).toMatchObject({ PLAYGROUND_RBAC: 'on', PLAYGROUND_OPERATOR_VERSION: 'none' });
    const kubeconfig = readFileSync(env.KUBECONFIG, 'utf8');
    expect(kubeconfig).toContain('certificate-authority-data:');
    expect(kubeconfig).not.toContain('insecure-skip-tls-verify');
    expect(readFileSync(env.PLAYGROUND_API_CA, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect((await cli('status')).out).toContain('playground: up');
    expect(await ok('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}')).toBe('kubernetes-admin');
  });

  it('a fresh cluster: no CNPG API until a chart installs it', async () => {
    expect(await ok('api-resources', '--api-group=postgresql.cnpg.io', '-o', 'name')).toBe('');
    expect(await ok('get', 'crd', '-o', 'name')).toBe('');
  });

  it('the imperative commands: namespace, serviceaccount, token, role, rolebinding, secret, configmap', async () => {
    await ok('create', 'namespace', 'demo');
    await ok('-n', 'demo', 'create', 'serviceaccount', 'app');
    await ok('-n', 'demo', 'create', 'role', 'reader', '--verb=get,list', '--resource=configmaps,pods');
    await ok('-n', 'demo', 'create', 'rolebinding', 'app-reader', '--role=reader', '--serviceaccount=demo:app');
    await ok('-n', 'demo', 'create', 'secret', 'generic', 'creds', '--from-literal=password=s3cret');
    await ok('-n', 'demo', 'create', 'configmap', 'settings', '--from-literal=mode=demo');
    const binding = JSON.parse(await ok('-n', 'demo', 'get', 'rolebinding', 'app-reader', '-o', 'json'));
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'app', namespace: 'demo' }]);
    const role = JSON.parse(await ok('-n', 'demo', 'get', 'role', 'reader', '-o', 'json'));
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps', 'pods'], verbs: ['get', 'list'] }]);
    expect(await ok('-n', 'demo', 'describe', 'serviceaccount', 'app')).toMatch(/Name:\s+app/);
  });

  it('the imperative workload commands: deployment (rolled out), job, service', async () => {
    await ok('-n', 'demo', 'create', 'deployment', 'web', '--image=nginx', '--port=80', '--replicas=2');
    await ok('-n', 'demo', 'rollout', 'status', 'deployment/web', '--timeout=30s');
    const template = JSON.parse(await ok('-n', 'demo', 'get', 'deployment', 'web', '-o', 'jsonpath={.spec.template}'));
    expect(template).toEqual({
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ image: 'nginx', name: 'nginx', ports: [{ containerPort: 80 }] }] },
    });
    await ok('-n', 'demo', 'create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi');
    expect(await ok('-n', 'demo', 'get', 'job', 'once', '-o', 'jsonpath={.spec.template.spec.restartPolicy}')).toBe(
      'Never',
    );
    await ok('-n', 'demo', 'create', 'service', 'clusterip', 'web', '--tcp=80:http');
    const ports = JSON.parse(await ok('-n', 'demo', 'get', 'service', 'web', '-o', 'jsonpath={.spec.ports}'));
    expect(ports).toEqual([{ name: '80-http', port: 80, protocol: 'TCP', targetPort: 'http' }]);
    expect(await ok('-n', 'demo', 'describe', 'role', 'reader')).toMatch(/configmaps\s+\[\]\s+\[\]\s+\[get list\]/);
  });

  it('apply -f of a kind: List, validated client-side', async () => {
    const r = await kubectlWith(env.KUBECONFIG, ['apply', '-f', '-'], LIST);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('configmap/from-list created\nserviceaccount/listed created\n');
    expect(await ok('-n', 'demo', 'get', 'configmap', 'from-list', '-o', 'jsonpath={.data.greeting}')).toBe('hello');
  });

  it('the ServiceAccount, with a token from kubectl create token, is what RBAC allows it to be', async () => {
    const token = (await ok('-n', 'demo', 'create', 'token', 'app', '--duration=10m')).trim();
    expect(token.split('.')).toHaveLength(3);
    const as = (...args: string[]) => kubectl(`--token=${token}`, '-n', 'demo', ...args);
    expect((await as('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}')).out).toBe(
      'system:serviceaccount:demo:app',
    );
    expect((await as('auth', 'can-i', 'list', 'configmaps')).out.trim()).toBe('yes');
    expect((await as('auth', 'can-i', 'delete', 'configmaps')).out.trim()).toBe('no');
    expect((await as('get', 'configmaps', '-o', 'name')).out).toContain('configmap/settings');
    const denied = await as('delete', 'configmap', 'settings');
    expect(denied.code).not.toBe(0);
    expect(denied.err).toContain(
      'User "system:serviceaccount:demo:app" cannot delete resource "configmaps" in API group "" in the namespace "demo"',
    );
    expect((await as('get', 'secrets')).err).toContain('cannot list resource "secrets"');
  });

  it('platform-install puts the upstream-shaped chart (operator 1.30) on it, CRDs from the chart', async () => {
    const chart = buildUpstreamPlatform({ operator: '1.30' });
    try {
      await ok('apply', '-f', join(upstreamDir, 'cert-manager-crds.yaml'));
      await ok('wait', '--for=condition=Established', 'crd/certificates.cert-manager.io', '--timeout=30s');
      const fake = { kubeconfigPath: env.KUBECONFIG, env: { PATH: env.PATH } } as unknown as PlaygroundHandle;
      const t = installer(fake);
      const r = await t.install({ chart: chart.chart }).finally(() => t.dispose());
      expect(r.errors).toEqual([]);
      expect(r.outputs).toMatchObject({ revision: '1', 'operator-version': '1.30.0' });
      expect(await ok('get', 'crd', 'clusters.postgresql.cnpg.io', '-o', 'name')).toContain('clusters.postgresql');
    } finally {
      chart.dispose();
    }
  }, 240_000);
});

/** Bytes written to it, collected. */
class Collector extends Writable {
  chunks: Buffer[] = [];
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void) {
    this.chunks.push(c);
    cb();
  }
  text = () => Buffer.concat(this.chunks).toString();
}

describe('logs and port-forward over HTTPS (kubectl and client-node verify the CA)', () => {
  let pg: PlaygroundHandle;
  let echo: Server;
  const kubectl = (...args: string[]) => kubectlWith(pg.kubeconfigPath, args);
  const POD = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
`;

  beforeAll(async () => {
    pg = await startPlayground({ operator: false, rbac: true });
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const applied = await kubectlWith(pg.kubeconfigPath, ['apply', '-f', '-'], POD);
    expect(applied.code, applied.err).toBe(0);
    const ready = await kubectlWith(pg.kubeconfigPath, ['wait', '--for=condition=Ready', 'pod/web', '--timeout=30s']);
    expect(ready.code, ready.err).toBe(0);
    pg.network.register('default', 'web', 80, { host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
    pg.logs.append('default', 'web', 'web', 'GET / 200\n');
  }, 60_000);
  afterAll(async () => {
    echo?.close();
    await pg?.stop();
  });

  it('kubectl logs', async () => {
    const r = await kubectl('logs', 'web');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/\nGET \/ 200\n$/);
  });

  // kubectl 1.34 tunnels SPDY in a WebSocket; KUBECTL_PORT_FORWARD_WEBSOCKETS=false makes it speak SPDY/3.1.
  it.each(['true', 'false'])('kubectl port-forward carries bytes both ways (websockets %s)', async (websockets) => {
    const child = spawn(KUBECTL, ['port-forward', 'pod/web', ':80'], {
      env: { ...process.env, ...home, KUBECONFIG: pg.kubeconfigPath, KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets },
    });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      await waitFor(
        'port-forward listening',
        () => {
          if (child.exitCode !== null) throw new Error(`kubectl port-forward exited: ${out}`);
          return /Forwarding from 127\.0\.0\.1:(\d+)/.test(out);
        },
        20_000,
      );
      const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const sock = connect(port, '127.0.0.1');
      let got = '';
      sock.on('data', (d) => (got += d));
      sock.write('ping over tls');
      await waitFor('echo', () => got === 'ping over tls', 20_000);
      sock.destroy();
    } finally {
      child.kill();
    }
  });

  it("client-node's PortForward (WebSocket) with the kubeconfig's CA", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(pg.kubeconfigPath);
    expect(kc.getCurrentCluster()).toMatchObject({ skipTLSVerify: false });
    const output = new Collector();
    const input = new PassThrough();
    const ws = (await new PortForward(kc).portForward('default', 'web', [80], output, new Collector(), input)) as {
      close(): void;
    };
    input.write('hello, pod');
    await waitFor('echo', () => output.text() === 'hello, pod', 20_000);
    ws.close();
  });
});
