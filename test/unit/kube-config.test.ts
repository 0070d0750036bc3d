// Kubeconfig handling like the ecosystem's actions: the input (YAML or base64), a `context` to
// pick one of several, KUBECONFIG / ~/.kube/config from earlier steps, and one clear error when
// the input is empty (a missing or misspelled secret) and nothing else is there: never the
// in-cluster service account or localhost:8080.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadKubeConfig } from '../../actions/lib/kube/config.js';
import { recordingCore } from '../helpers/recording-core.js';

const KUBECONFIG = `# two clusters, as "aws eks update-kubeconfig" twice would leave it
apiVersion: v1
kind: Config
clusters:
  - name: "arn:aws:eks:eu-west-1:123456789012:cluster/Payments-Staging"
    cluster: { server: "https://staging.example.internal:6443", insecure-skip-tls-verify: true }
  - name: "arn:aws:eks:eu-west-1:123456789012:cluster/Payments-Production"
    cluster: { server: "https://production.example.internal:6443", insecure-skip-tls-verify: true }
users:
  - name: staging-deployer
    user: { token: "staging-token-1f2e3d" }
  - name: production-deployer
    user: { token: "production-token-9a8b7c" }
contexts:
  - name: payments-staging
    context: { cluster: "arn:aws:eks:eu-west-1:123456789012:cluster/Payments-Staging", user: staging-deployer }
  - name: payments-production
    context: { cluster: "arn:aws:eks:eu-west-1:123456789012:cluster/Payments-Production", user: production-deployer, namespace: "Billing-DB" }
current-context: payments-staging
`;

describe('loadKubeConfig', () => {
  const saved = {
    KUBECONFIG: process.env.KUBECONFIG,
    HOME: process.env.HOME,
    KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST,
    KUBERNETES_SERVICE_PORT: process.env.KUBERNETES_SERVICE_PORT,
  };
  const home = mkdtempSync(join(tmpdir(), 'kube-home-'));
  beforeEach(() => {
    delete process.env.KUBECONFIG;
    process.env.HOME = home;
    // As inside a pod: client-node's loadFromDefault would fall back to the in-cluster account.
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    rmSync(join(home, '.kube'), { recursive: true, force: true });
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('uses the current-context by default, writes a 0600 file for helm/kubectl and masks tokens', () => {
    const { core, rec } = recordingCore();
    const kube = loadKubeConfig(core, KUBECONFIG);
    expect(kube.kc.getCurrentCluster()?.server).toBe('https://staging.example.internal:6443');
    expect(statSync(kube.path).mode & 0o777).toBe(0o600);
    expect(rec.secrets).toEqual(
      expect.arrayContaining([KUBECONFIG, 'staging-token-1f2e3d', 'production-token-9a8b7c']),
    );
    kube.dispose();
    expect(existsSync(kube.path)).toBe(false);
  });

  it('picks the `context` input (base64 too), in the client and in the file child processes read', () => {
    const { core, rec } = recordingCore({ context: 'payments-production' });
    const kube = loadKubeConfig(core, Buffer.from(KUBECONFIG).toString('base64'));
    try {
      // What the drill saves for its post step, which may not see the context input.
      expect(parse(kube.text!)['current-context']).toBe('payments-production');
      expect(rec.secrets).toContain(kube.text);
      expect(kube.kc.getCurrentCluster()?.server).toBe('https://production.example.internal:6443');
      expect(kube.kc.getCurrentUser()?.name).toBe('production-deployer');
      const file = readFileSync(kube.path, 'utf8');
      expect(parse(file)['current-context']).toBe('payments-production');
      expect(file).toContain('# two clusters'); // the user's file, not a re-serialisation
    } finally {
      kube.dispose();
    }
  });

  it('refuses a context the kubeconfig lacks, naming the input and the contexts it has', () => {
    const { core } = recordingCore();
    expect(() => loadKubeConfig(core, KUBECONFIG, 'kubeconfig', 'payments-prod')).toThrow(
      "Input 'context': 'payments-prod' is not a context of the kubeconfig; it has: payments-staging, payments-production.",
    );
  });

  it.each([[''], [undefined]])(
    'fails on input %j with no KUBECONFIG, never in-cluster or localhost:8080',
    (input: string | undefined) => {
      const { core } = recordingCore();
      expect(() => loadKubeConfig(core, input)).toThrow(
        /^Input 'kubeconfig': is empty and KUBECONFIG is not set\. A secret that does not exist \(or is misspelled\) expands to an empty string/,
      );
    },
  );

  it('uses KUBECONFIG from an earlier step, and writes a copy when a context is picked (the original untouched)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-env-'));
    try {
      writeFileSync(join(dir, 'config'), KUBECONFIG);
      process.env.KUBECONFIG = join(dir, 'config');
      const { core } = recordingCore();
      const plain = loadKubeConfig(core, undefined);
      expect(plain.path).toBe(join(dir, 'config'));
      expect(plain.text).toBeUndefined();
      expect(plain.kc.getCurrentContext()).toBe('payments-staging');
      const picked = loadKubeConfig(core, '', 'kubeconfig', 'payments-production');
      expect(picked.path).not.toBe(join(dir, 'config'));
      expect(parse(readFileSync(picked.path, 'utf8'))['current-context']).toBe('payments-production');
      expect(readFileSync(join(dir, 'config'), 'utf8')).toBe(KUBECONFIG);
      picked.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names KUBECONFIG when the file it points at is missing', () => {
    process.env.KUBECONFIG = join(home, 'nowhere', 'config');
    const { core } = recordingCore();
    expect(() => loadKubeConfig(core, undefined)).toThrow(
      /^Input 'kubeconfig': not given, and KUBECONFIG \(.*nowhere\/config\) could not be read/,
    );
  });

  it('uses ~/.kube/config when KUBECONFIG is not set (aws eks update-kubeconfig writes there)', () => {
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), KUBECONFIG);
    const { core } = recordingCore();
    expect(loadKubeConfig(core, undefined).kc.getCurrentContext()).toBe('payments-staging');
  });

  it('refuses text that is not a kubeconfig, naming the input', () => {
    const { core } = recordingCore();
    expect(() => loadKubeConfig(core, 'KUBECONFIG_STAGING')).toThrow(/^Input 'kubeconfig': is neither a kubeconfig/);
  });
});
