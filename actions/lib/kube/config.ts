// Kubernetes credentials, as the ecosystem's actions take them (azure/k8s-set-context,
// google-github-actions/get-gke-credentials): the `kubeconfig` input (YAML, or base64 of it)
// written to a 0600 temp file, else the KUBECONFIG an earlier step set, else ~/.kube/config.
// Never in-cluster credentials or localhost:8080: an empty input (a missing or misspelled
// secret expands to '') with neither present is an input error. `context` picks one of several.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import type { Core } from '../core.js';
import { describeError } from '../errors.js';
import { InputError } from '../inputs.js';

export interface LoadedKubeConfig {
  kc: KubeConfig;
  /** A kubeconfig file for child processes (helm, kubectl); its current-context is the chosen one. */
  path: string;
  /** Removes the temp file when one was written. */
  dispose(): void;
  /** The kubeconfig as used (the chosen context current), when it differs from KUBECONFIG's
   *  files: what a post step must reload, since it may not see the `context` input. Masked. */
  text?: string;
}

type KubeCore = Pick<Core, 'setSecret'> & Partial<Pick<Core, 'getInput'>>;

/** `context` defaults to the action's `context` input (every action taking a kubeconfig declares one). */
export function loadKubeConfig(
  core: KubeCore,
  input: string | undefined,
  inputName = 'kubeconfig',
  context = core.getInput?.('context')?.trim() || undefined,
): LoadedKubeConfig {
  if (input) core.setSecret(input);
  const source = input ? { text: decodeKubeconfig(input, inputName) } : defaultSource(inputName);
  const kc = new KubeConfig();
  try {
    if ('text' in source) kc.loadFromString(source.text);
    else kc.loadFromDefault();
  } catch (err) {
    const what = 'from' in source ? `not given, and ${source.from} could not be read` : 'is not a valid kubeconfig';
    throw new InputError(inputName, `${what} (${describeError(err)}).`);
  }
  if (context) useContext(kc, context);
  requireContext(kc, inputName);
  maskCredentials(core, kc);
  if (!('text' in source) && !context) return { kc, path: source.path, dispose: () => {} };
  const raw =
    'text' in source
      ? source.text
      : source.files.length === 1
        ? readFileSync(source.files[0], 'utf8')
        : kc.exportConfig();
  const text = withCurrentContext(raw, context);
  core.setSecret(text);
  return { kc, text, ...writeTemp(text) };
}

type Source = { text: string } | { from: string; path: string; files: string[] };

/** KUBECONFIG set by an earlier step, else ~/.kube/config; else one clear error naming the input. */
function defaultSource(inputName: string): Source {
  const files = (process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length) return { from: `KUBECONFIG (${files.join(delimiter)})`, path: files[0], files };
  const home = join(process.env.HOME || homedir(), '.kube', 'config');
  if (existsSync(home)) return { from: home, path: home, files: [home] };
  throw new InputError(
    inputName,
    'is empty and KUBECONFIG is not set. A secret that does not exist (or is misspelled) expands to an empty string: ' +
      'check the name in `${{ secrets.NAME }}` and that the job can read it (environment secrets need `environment:`), ' +
      'or set KUBECONFIG in an earlier step ' +
      '(aws eks update-kubeconfig, google-github-actions/get-gke-credentials, azure/aks-set-context).',
  );
}

function useContext(kc: KubeConfig, context: string): void {
  const names = kc.getContexts().map((c) => c.name);
  if (!names.includes(context))
    throw new InputError(
      'context',
      `'${context}' is not a context of the kubeconfig; it has: ${names.join(', ') || 'none'}.`,
    );
  kc.setCurrentContext(context);
}

/** The same kubeconfig text with current-context replaced, comments and unknown fields kept. */
function withCurrentContext(text: string, context: string | undefined): string {
  if (!context) return text;
  const doc = parseDocument(text);
  doc.set('current-context', context);
  return doc.toString();
}

function writeTemp(text: string): Omit<LoadedKubeConfig, 'kc'> {
  const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'kubeconfig-'));
  const path = join(dir, 'config');
  writeFileSync(path, text, { mode: 0o600 });
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Accepts the YAML itself or base64 of it, as users paste either into secrets. */
function decodeKubeconfig(input: string, inputName: string): string {
  if (looksLikeKubeconfig(input)) return input;
  const decoded = Buffer.from(input.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (looksLikeKubeconfig(decoded)) return decoded;
  throw new InputError(
    inputName,
    'is neither a kubeconfig (YAML with clusters, users and contexts) nor ' +
      'base64 of one; pass the file contents, e.g. `${{ secrets.KUBECONFIG }}`.',
  );
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
    throw new InputError(
      inputName,
      'has no usable current context (current-context must name a context whose cluster exists; or pick one with the `context` input).',
    );
  }
}

function maskCredentials(core: Pick<Core, 'setSecret'>, kc: KubeConfig): void {
  for (const u of kc.getUsers()) {
    for (const v of [u.token, u.password, u.keyData, u.certData]) if (v) core.setSecret(v);
  }
}
