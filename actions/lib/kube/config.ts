// Kubernetes credentials: the `kubeconfig` input (YAML, or base64 of it) written to a 0600
// temp file, else an existing KUBECONFIG / default location (Azure/k8s-set-context pattern).
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Core } from '../core.js';
import { InputError } from '../inputs.js';

export interface LoadedKubeConfig {
  kc: KubeConfig;
  /** A kubeconfig file for child processes (helm, kubectl). */
  path: string;
  /** Removes the temp file when the config came from the input. */
  dispose(): void;
}

export function loadKubeConfig(core: Pick<Core, 'setSecret'>, input: string | undefined, inputName = 'kubeconfig'): LoadedKubeConfig {
  const kc = new KubeConfig();
  if (!input) {
    try {
      kc.loadFromDefault();
    } catch (err) {
      throw new InputError(inputName, `not given, and KUBECONFIG could not be read (${(err as Error).message}); pass the kubeconfig contents or set KUBECONFIG in an earlier step.`);
    }
    requireContext(kc, inputName);
    maskCredentials(core, kc);
    return { kc, path: process.env.KUBECONFIG?.split(':')[0] || join(process.env.HOME ?? '', '.kube/config'), dispose: () => {} };
  }
  const text = decodeKubeconfig(input, inputName);
  core.setSecret(input);
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new InputError(inputName, `is not a valid kubeconfig (${(err as Error).message}).`);
  }
  requireContext(kc, inputName);
  maskCredentials(core, kc);
  const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'kubeconfig-'));
  const path = join(dir, 'config');
  writeFileSync(path, text, { mode: 0o600 });
  return { kc, path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Accepts the YAML itself or base64 of it, as users paste either into secrets. */
function decodeKubeconfig(input: string, inputName: string): string {
  if (looksLikeKubeconfig(input)) return input;
  const decoded = Buffer.from(input.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (looksLikeKubeconfig(decoded)) return decoded;
  throw new InputError(inputName, 'is neither a kubeconfig (YAML with clusters, users and contexts) nor base64 of one; pass the file contents, e.g. `${{ secrets.KUBECONFIG }}`.');
}

function looksLikeKubeconfig(text: string): boolean {
  try {
    const doc = parseYaml(text) as Record<string, unknown> | null;
    return !!doc && typeof doc === 'object' && Array.isArray(doc.clusters) && Array.isArray(doc.contexts);
  } catch {
    return false;
  }
}

function requireContext(kc: KubeConfig, inputName: string): void {
  if (!kc.getCurrentCluster()) {
    throw new InputError(inputName, 'has no usable current context (current-context must name a context whose cluster exists).');
  }
}

function maskCredentials(core: Pick<Core, 'setSecret'>, kc: KubeConfig): void {
  for (const u of kc.getUsers()) {
    for (const v of [u.token, u.password, u.keyData, u.certData]) if (v) core.setSecret(v);
  }
}
