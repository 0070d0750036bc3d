// The real kubectl (v1.34) and helm (v4) binaries against the emulated API server.
import { execFile, spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './apiserver/testing.js';
import { kubeconfigYaml, REPO_ROOT } from './playground.js';

const run = promisify(execFile);
const KUBECTL = join(REPO_ROOT, '.tools', 'bin', 'kubectl');
const HELM = join(REPO_ROOT, '.tools', 'bin', 'helm');
const CHART = join(REPO_ROOT, 'test', 'fixtures', 'charts', 'widget');

let s: TestServer;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  s = await startTestServer();
  const home = join(s.dir, 'home');
  mkdirSync(home);
  writeFileSync(join(s.dir, 'kubeconfig'), kubeconfigYaml(s.url));
  // A private HOME keeps kubectl's discovery/OpenAPI cache and helm's config per server.
  env = {
    ...process.env,
    HOME: home,
    KUBECONFIG: join(s.dir, 'kubeconfig'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.data'),
  };
});
afterAll(async () => {
  await s?.stop();
});

async function sh(bin: string, args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  try {
    const p = run(bin, args, { env, timeout: 60_000 });
    if (input !== undefined) {
      p.child.stdin!.end(input);
    }
    const { stdout, stderr } = await p;
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}
const kubectl = (...args: string[]) => sh(KUBECTL, args);
const kubectlIn = (input: string, ...args: string[]) => sh(KUBECTL, args, input);
const helm = (...args: string[]) => sh(HELM, args);

const manifests = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sprockets.kubectl.example.com
spec:
  group: kubectl.example.com
  names: {plural: sprockets, singular: sprocket, kind: Sprocket}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: team
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        env: [{name: MODE, value: one}]
`;

describe('kubectl', () => {
  it('create namespace, apply -f (validated), wait, get, label, server-side apply, delete --wait', async () => {
    expect((await kubectl('create', 'namespace', 'team')).code).toBe(0);
    const applied = await kubectlIn(manifests, 'apply', '-f', '-');
    expect(applied.err).toBe('');
    expect(applied.out).toContain('deployment.apps/app created');
    expect(
      (await kubectl('wait', '--for=condition=Established', 'crd/sprockets.kubectl.example.com', '--timeout=10s')).code,
    ).toBe(0);
    expect(
      (await kubectl('-n', 'team', 'wait', '--for=condition=Available', 'deployment/app', '--timeout=20s')).code,
    ).toBe(0);
    expect((await kubectl('-n', 'team', 'rollout', 'status', 'deployment/app', '--timeout=20s')).out).toContain(
      'successfully rolled out',
    );

    // Client-side apply of a change is a strategic merge patch keyed by container/env names.
    const changed = await kubectlIn(manifests.replace('value: one', 'value: two'), 'apply', '-f', '-');
    expect(changed.out).toContain('deployment.apps/app configured');
    const envJson = await kubectl(
      '-n',
      'team',
      'get',
      'deploy',
      'app',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].env}',
    );
    expect(JSON.parse(envJson.out)).toEqual([{ name: 'MODE', value: 'two' }]);

    const cr =
      'apiVersion: kubectl.example.com/v1\nkind: Sprocket\nmetadata: {name: s1, namespace: team}\nspec: {teeth: 12}\n';
    expect((await kubectlIn(cr, 'apply', '-f', '-')).code).toBe(0);
    expect((await kubectlIn(cr.replace('12', '14'), 'apply', '--server-side', '-f', '-')).out).toContain(
      'serverside-applied',
    );
    expect((await kubectl('-n', 'team', 'get', 'sprocket', 's1', '-o', 'jsonpath={.spec.teeth}')).out).toBe('14');
    expect((await kubectl('-n', 'team', 'label', 'sprocket', 's1', 'tier=gold')).code).toBe(0);
    expect(
      (
        await kubectl(
          '-n',
          'team',
          'wait',
          '--for=jsonpath={.metadata.labels.tier}=gold',
          'sprocket/s1',
          '--timeout=5s',
        )
      ).code,
    ).toBe(0);
    const yaml = await kubectl('-n', 'team', 'get', 'sprockets', '-l', 'tier=gold', '-o', 'yaml');
    expect(yaml.out).toContain('name: s1');
    expect((await kubectl('-n', 'team', 'create', 'configmap', 'cm1', '--from-literal=k=v')).code).toBe(0);
    expect((await kubectl('-n', 'team', 'get', 'cm', 'cm1', '-o', 'jsonpath={.data.k}')).out).toBe('v');

    const waitGone = kubectl('-n', 'team', 'wait', '--for=delete', 'deployment/app', '--timeout=10s');
    await new Promise((r) => setTimeout(r, 300));
    expect((await kubectl('-n', 'team', 'delete', 'deployment', 'app')).code).toBe(0);
    expect((await waitGone).code).toBe(0);
    expect((await kubectl('delete', 'namespace', 'team', '--timeout=20s')).code).toBe(0);
    expect((await kubectl('get', 'namespace', 'team')).err).toContain('NotFound');
    const missing = await kubectl('get', 'pod', 'nope');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('pods "nope" not found');
  });
});

describe('kubectl port-forward', () => {
  it('tunnels to the address the pod network registers, and 404s for a missing pod', async () => {
    const echo = createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    try {
      await s.req('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'echo' },
        spec: { containers: [{ name: 'c', image: 'echo:1', ports: [{ containerPort: 7000 }] }] },
      });
      expect((await kubectl('wait', '--for=condition=Ready', 'pod/echo', '--timeout=10s')).code).toBe(0); // port-forward needs a Running pod
      s.network.register('default', 'echo', 7000, { host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
      const pf = spawn(KUBECTL, ['port-forward', 'pod/echo', ':7000'], { env });
      try {
        const local = await new Promise<number>((resolve, reject) => {
          pf.stdout.on('data', (d: Buffer) => {
            const m = /127\.0\.0\.1:(\d+) ->/.exec(d.toString());
            if (m) resolve(Number(m[1]));
          });
          let err = '';
          pf.stderr.on('data', (d: Buffer) => (err += d.toString()));
          pf.once('exit', () => reject(new Error(`kubectl port-forward exited: ${err}`)));
        });
        const reply = await new Promise<string>((resolve, reject) => {
          const c = connect(local, '127.0.0.1', () => c.write('ping'));
          c.once('data', (d) => (resolve(d.toString()), c.destroy()));
          c.once('error', reject);
        });
        expect(reply).toBe('ping');
      } finally {
        pf.kill();
      }
      const missing = await kubectl('port-forward', 'pod/nope', ':7000');
      expect(missing.err).toContain('not found');
    } finally {
      echo.close();
    }
  });
});

describe('helm', () => {
  it('template renders without a cluster', async () => {
    const t = await helm('template', 'demo', CHART);
    expect(t.code).toBe(0);
    expect(t.out).toContain('name: demo-web');
  });

  it('upgrade --install --wait, upgrade, history, failed upgrade rolls back, uninstall', async () => {
    const install = await helm(
      'upgrade',
      '--install',
      'demo',
      CHART,
      '--wait',
      '--rollback-on-failure',
      '--timeout',
      '20s',
    );
    expect(install.err).not.toContain('Error');
    expect(install.out).toContain('STATUS: deployed');
    expect((await kubectl('get', 'crd', 'gadgets.fixtures.example.com')).code).toBe(0);
    expect((await kubectl('get', 'gadget', 'demo-gadget', '-o', 'jsonpath={.spec.message}')).out).toBe('hello');

    const upgrade = await helm(
      'upgrade',
      '--install',
      'demo',
      CHART,
      '--wait',
      '--timeout',
      '20s',
      '--set',
      'message=bye',
    );
    expect(upgrade.out).toContain('REVISION: 2');
    expect((await kubectl('get', 'cm', 'demo-config', '-o', 'jsonpath={.data.message}')).out).toBe('bye');

    const bad = await helm(
      'upgrade',
      '--install',
      'demo',
      CHART,
      '--wait',
      '--atomic',
      '--timeout',
      '4s',
      '--set',
      'image=registry.example.com/does-not-exist:1',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('rolled back');
    const history = await helm('history', 'demo', '-o', 'json');
    const revs = JSON.parse(history.out) as { revision: number; status: string; description: string }[];
    expect(revs.map((r) => r.status)).toEqual(['superseded', 'superseded', 'failed', 'deployed']);
    expect(revs[3].description).toContain('Rollback to 2');
    expect(
      (await kubectl('get', 'deploy', 'demo-web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}')).out,
    ).toBe('nginx:1.27');

    const un = await helm('uninstall', 'demo', '--wait', '--timeout', '20s');
    expect(un.code).toBe(0);
    expect((await kubectl('get', 'deploy,cm,gadgets', '-o', 'name')).out).toBe('');
    expect((await kubectl('get', 'secrets', '-l', 'owner=helm', '-o', 'name')).out).toBe('');
  });
});
