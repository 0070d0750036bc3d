// Credentials that last the drill (issue 21): the expiry of the kubeconfig's credential, read at
// preflight from real tokens the playground's API server mints (TokenRequest, JWTs it verifies),
// a real exec plugin script that asks it for one, a client certificate and an opaque token; and
// what the drill does about it: refuse, or warn and shorten its deadline so teardown keeps them.
import { AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCredentials } from '../../actions/lib/drill/phases/credentials.phase.js';
import { drillWorstCaseMs } from '../../actions/lib/drill/limits.js';
import { credentialLifetime, jwtExpiry, planForCredentials } from '../../actions/lib/kube/credentials.js';
import { startTestServer, type TestServer } from '../playground/apiserver/testing.js';
import { recordingCore } from '../helpers/recording-core.js';

const MIN = 60_000;
const DEFAULTS = { timeoutMs: 30 * MIN, statementTimeoutMs: 10 * MIN, sameMomentWaitMs: 6 * MIN, restorePoint: false };

let api: TestServer;
let dir: string;

beforeAll(async () => {
  api = await startTestServer({ rbac: true });
  dir = mkdtempSync(join(tmpdir(), 'kube-credentials-'));
  const sa = await api.req('POST', '/api/v1/namespaces/default/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'drill' },
  });
  expect(sa.status).toBe(201);
});
afterAll(async () => {
  await api?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A TokenRequest as kubectl create token makes it: the real JWT and the server's expirationTimestamp. */
async function mint(seconds: number): Promise<{ token: string; expirationTimestamp: string }> {
  const r = await api.req('POST', '/api/v1/namespaces/default/serviceaccounts/drill/token', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: seconds },
  });
  expect(r.status).toBe(201);
  return r.body.status;
}

function kubeconfig(user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'pg', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'drill', user }],
    contexts: [{ name: 'pg', context: { cluster: 'pg', user: 'drill' } }],
    'current-context': 'pg',
  });
}

const load = (text: string) => {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
};

/** The credential works against the API server (a 401 would throw). */
async function authenticates(kc: KubeConfig): Promise<boolean> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } } },
  });
  return review.status !== undefined;
}

const plan = (expiresInMs: number, policy: 'shorten' | 'fail' = 'shorten') =>
  planForCredentials(
    { kind: 'jwt', expiresAt: new Date(Date.now() + expiresInMs), refreshes: false, source: 'token' },
    {
      now: Date.now(),
      worstCaseMs: (timeoutMs) => drillWorstCaseMs({ ...DEFAULTS, timeoutMs }),
      timeoutMs: DEFAULTS.timeoutMs,
      minTimeoutMs: 5 * MIN,
      policy,
      marginMs: MIN,
    },
  );

describe('reading when credentials expire', () => {
  it("a bearer token minted by TokenRequest: its JWT exp, the server's expirationTimestamp", async () => {
    const { token, expirationTimestamp } = await mint(600);
    const kc = load(kubeconfig({ token }));
    expect(await authenticates(kc)).toBe(true);
    const life = await credentialLifetime(kc);
    expect(life).toMatchObject({ kind: 'jwt', refreshes: false });
    expect(life.expiresAt!.toISOString().replace(/\.\d+Z$/, 'Z')).toBe(expirationTimestamp);
  });

  it("an exec plugin script that asks the API server for a token: its ExecCredential's expirationTimestamp", async () => {
    const script = join(dir, 'token-plugin.mjs');
    const seen = join(dir, 'exec-info.json');
    writeFileSync(
      script,
      `#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
writeFileSync(process.env.SEEN, process.env.KUBERNETES_EXEC_INFO ?? '');
const res = await fetch(process.env.API + '/api/v1/namespaces/default/serviceaccounts/drill/token', {
  method: 'POST',
  headers: { Authorization: 'Bearer playground-token', 'Content-Type': 'application/json' },
  body: JSON.stringify({ spec: { expirationSeconds: 900 } }),
});
const { status } = await res.json();
console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status }));
`,
    );
    chmodSync(script, 0o755);
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: script,
      env: [
        { name: 'API', value: api.url },
        { name: 'SEEN', value: seen },
      ],
      interactiveMode: 'Never',
    };
    const kc = load(kubeconfig({ exec }));
    expect(await authenticates(kc)).toBe(true); // client-node runs the same plugin
    const life = await credentialLifetime(kc);
    expect(life).toMatchObject({ kind: 'exec', refreshes: true });
    expect(life.expiresAt!.getTime() - Date.now()).toBeGreaterThan(14 * MIN);
    expect(life.expiresAt!.getTime() - Date.now()).toBeLessThanOrEqual(15 * MIN);
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toMatchObject({
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    // The client re-runs a plugin whose credential expires: a refresh point, never a reason to shorten.
    expect(planForCredentials(life, { ...planOptions(), now: Date.now() }).action).toBe('ok');
  });

  it('an exec plugin that fails is an error now, naming the plugin and its stderr', async () => {
    const script = join(dir, 'broken-plugin.sh');
    writeFileSync(script, '#!/bin/sh\necho "could not load credentials: session expired" >&2\nexit 1\n');
    chmodSync(script, 0o755);
    await expect(
      credentialLifetime(
        load(kubeconfig({ exec: { command: script, apiVersion: 'client.authentication.k8s.io/v1' } })),
      ),
    ).rejects.toThrow(`the exec plugin ${script} failed: could not load credentials: session expired`);
  });

  it('in a pod: the mounted ServiceAccount token file, a JWT the kubelet rotates and the client re-reads', async () => {
    const { token, expirationTimestamp } = await mint(3600);
    const root = mkdtempSync(join(dir, 'pod-'));
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), token);
    writeFileSync(join(sa, 'ca.crt'), '');
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '443' });
      const kc = new KubeConfig();
      kc.loadFromCluster(root);
      // As the CLI hands it to the drill (cli/kubeconfig.ts): exported, then loaded again.
      const life = await credentialLifetime(load(kc.exportConfig()));
      expect(life).toMatchObject({ kind: 'jwt', refreshes: true, source: expect.stringContaining('token file') });
      expect(life.expiresAt!.toISOString().replace(/\.\d+Z$/, 'Z')).toBe(expirationTimestamp);
      expect(planForCredentials(life, { ...planOptions(), now: Date.now() + 3 * 60 * MIN }).action).toBe('ok');
    } finally {
      process.env = saved;
    }
  });

  it('a client certificate: its notAfter; an opaque fixed token: no readable expiry', async () => {
    const key = join(dir, 'key.pem');
    const crt = join(dir, 'crt.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '1',
        '-subj',
        '/CN=drill',
      ],
      { stdio: 'pipe' },
    );
    const certData = readFileSync(crt).toString('base64');
    const life = await credentialLifetime(
      load(
        kubeconfig({ 'client-certificate-data': certData, 'client-key-data': readFileSync(key).toString('base64') }),
      ),
    );
    expect(life.kind).toBe('client-certificate');
    expect(Math.abs(life.expiresAt!.getTime() - Date.now() - 24 * 60 * MIN)).toBeLessThan(2 * MIN);
    const opaque = await credentialLifetime(load(kubeconfig({ token: 'ya29.an-opaque-access-token' })));
    expect(opaque.kind).toBe('opaque-token');
    expect(opaque.expiresAt).toBeUndefined();
    expect(jwtExpiry('not.a.jwt')).toBeUndefined();
  });
});

function planOptions() {
  return {
    now: Date.now(),
    worstCaseMs: (timeoutMs: number) => drillWorstCaseMs({ ...DEFAULTS, timeoutMs }),
    timeoutMs: DEFAULTS.timeoutMs,
    minTimeoutMs: 5 * MIN,
    policy: 'shorten' as const,
    marginMs: MIN,
  };
}

describe('what the drill does about it', () => {
  it('a credential that outlives the worst case (55 min by default) changes nothing', () => {
    expect(drillWorstCaseMs(DEFAULTS)).toBe(54 * MIN + 5_000);
    expect(plan(60 * MIN)).toMatchObject({ action: 'ok', timeoutMs: 30 * MIN });
  });

  it('one that expires in 45 min shortens the deadline so the worst case ends before it; fail refuses', () => {
    const p = plan(45 * MIN);
    expect(p.action).toBe('shorten');
    expect(drillWorstCaseMs({ ...DEFAULTS, timeoutMs: p.timeoutMs })).toBeLessThanOrEqual(44 * MIN);
    expect(p.message).toMatch(/timeout shortened from 30 min to 19 min so teardown still has credentials/);
    expect(plan(45 * MIN, 'fail').action).toBe('refuse');
  });

  it('one that expires in 10 min refuses: too little left to restore anything', () => {
    const p = plan(10 * MIN);
    expect(p.action).toBe('refuse');
    expect(p.message).toMatch(
      /before the drill's worst case of 54 min \(teardown would run without credentials\): request credentials/,
    );
  });

  it('at preflight: a 45-minute token minted by the API server shortens the drill; a 10-minute one refuses it', async () => {
    const run = async (seconds: number, policy: 'shorten' | 'fail' = 'shorten', siteSeconds?: number) => {
      const { core, rec } = recordingCore();
      const inputs = { ...DEFAULTS, onShortCredentials: policy };
      const given: { timeoutMs?: number; credentialNotes?: string[] } = {};
      const site = siteSeconds
        ? { remote: true, kubeconfig: kubeconfig({ token: (await mint(siteSeconds)).token }) }
        : { remote: false };
      const give = (f: typeof given) => Object.assign(given, f);
      const ctx = { core, inputs, kubeconfig: kubeconfig({ token: (await mint(seconds)).token }), site, give };
      const error = await (checkCredentials.run as (c: unknown, i: unknown) => Promise<unknown>)(ctx, {}).then(
        () => undefined,
        (e: Error) => e.message,
      );
      return { timeoutMs: given.timeoutMs, notes: given.credentialNotes, rec, error, inputs };
    };
    const short = await run(45 * 60);
    expect(short.error).toBeUndefined();
    // The shortened timeout is a fact the later deadlines need; the input stays as given.
    expect(short.timeoutMs).toBeLessThan(30 * MIN);
    expect(short.inputs.timeoutMs).toBe(30 * MIN);
    expect(short.rec.logs.find((l) => l.level === 'warning')?.message).toMatch(
      /^credentials \(kubeconfig\): user drill's bearer token \(JWT exp\) expires at/,
    );
    expect(short.notes).toHaveLength(1);
    const refused = await run(10 * 60);
    expect(refused.error).toMatch(
      /^Input 'kubeconfig': user drill's bearer token \(JWT exp\) expires at .* in 9 min, before the drill's worst case/,
    );
    expect(refused.timeoutMs).toBe(30 * MIN);
    // A recovery site in another cluster: its credentials count too.
    const dr = await run(24 * 3600, 'shorten', 45 * 60);
    expect(dr.rec.logs.find((l) => l.level === 'warning')?.message).toMatch(/^credentials \(recovery-kubeconfig\): /);
    expect(dr.timeoutMs).toBeLessThan(30 * MIN);
    expect((await run(24 * 3600, 'fail', 45 * 60)).error).toMatch(/^Input 'recovery-kubeconfig': /);
  });
});
