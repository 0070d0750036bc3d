// Every Kubernetes name an app's declaration leads to, checked as the API server and the CNPG
// operator will check it, before anything changes: the app's namespace (a DNS-1123 label), its env
// Secret and Deployment (DNS-1123 subdomains), and a dedicated add-on's Cluster, which CNPG's webhook
// refuses unless it is a DNS-1035 label (starts with a letter) of at most 50 characters
// (validateName, test/playground/CONFORMANCE.md).
import type { SyncConfig } from './config.js';
import { DeclarationError } from './declaration.js';
import { dedicatedClusterName } from './providers/cnpg-dedicated.js';
import { variantOf } from './registry.js';
import { targetFor } from './sync.js';
import type { AppDeclaration } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CNPG_MAX_CLUSTER = 50;

/** What is wrong with the names `app` leads to (one line each, naming the app, the name and the fix). */
export function nameProblems(config: SyncConfig, app: AppDeclaration): string[] {
  const t = targetFor(config, app.name);
  const at = `${app.file}: app '${app.name}'`;
  const out: string[] = [];
  if (!DNS1123_LABEL.test(t.namespace) || t.namespace.length > 63)
    out.push(`${at}: namespace '${t.namespace}' (namespace-template) is not a DNS-1123 label; rename the app.`);
  for (const [what, input, v] of [
    ['env Secret', 'env-secret-template', t.envSecret],
    ['Deployment', 'deployment-template', t.deployment],
  ] as const) {
    if (!DNS1123_SUBDOMAIN.test(v) || v.length > 253)
      out.push(`${at}: ${what} '${v}' (${input}) is not a DNS-1123 subdomain; rename the app or change ${input}.`);
  }
  for (const a of app.addons ?? []) {
    if (variantOf(a.addon, a.variant)?.backend !== 'dedicated') continue;
    const cluster = dedicatedClusterName(app.name);
    if (!DNS1035_LABEL.test(cluster) || cluster.length > CNPG_MAX_CLUSTER)
      out.push(
        `${at}: its dedicated ${a.addon} Cluster would be named '${cluster}', which CNPG refuses ` +
          `(a DNS-1035 label: it must start with a letter); rename the app to start with a letter.`,
      );
  }
  return out;
}

/** Refuses the run, before any change, when a name any app leads to would be refused later. */
export function checkNames(config: SyncConfig, apps: AppDeclaration[]): void {
  const problems = apps.flatMap((a) => nameProblems(config, a));
  if (problems.length) throw new DeclarationError(problems);
}
