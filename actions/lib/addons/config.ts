// The action's inputs, validated up front (a bad one fails the step before anything changes).
import type { Core } from '../core.js';
import { InputError, Inputs } from '../inputs.js';
import { checkCnpgSchedule } from '../cnpg/schedule.js';

export interface BackupConfig {
  destinationPath: string;
  endpointURL?: string;
  /** Secret in the add-ons namespace with ACCESS_KEY_ID / ACCESS_SECRET_KEY. */
  credentialsSecret?: string;
  schedule: string;
}

export interface SyncConfig {
  apps: string[];
  cwd: string;
  mode: 'plan' | 'apply';
  kubeconfig?: string;
  namespaceTemplate: string;
  envSecretTemplate: string;
  deploymentTemplate: string;
  addonsNamespace: string;
  sharedCluster: string;
  sharedStorage: string;
  storageClass?: string;
  backup?: BackupConfig;
  reclaim: 'delete' | 'retain';
  remoteAdminSecret?: { namespace: string; name: string };
  postgresImage: string;
  defaultVersion: string;
  timeoutMs: number;
  parallel: number;
}

const TEMPLATE = /^[a-z0-9{}-]+$/;

export function readConfig(core: Pick<Core, 'getInput'>): SyncConfig {
  const inputs = new Inputs(core);
  const apps = inputs.list('apps');
  if (!apps.length)
    throw new InputError('apps', 'is required: a path or glob(s) of app.toml files, e.g. apps/*/app.toml.');
  const template = (name: string, fallback: string) => {
    const v = inputs.string(name, fallback);
    if (!TEMPLATE.test(v) || !v.includes('{app}')) {
      throw new InputError(
        name,
        `'${v}' must contain {app} and otherwise only lower-case letters, digits and '-', e.g. '${fallback}'.`,
      );
    }
    return v;
  };
  const addonsNamespace = inputs.kubeName('addons-namespace', inputs.string('addons-namespace', 'cnpg-addons'));
  const sharedCluster = inputs.kubeName('shared-cluster', inputs.string('shared-cluster', 'addons-shared'));
  if (sharedCluster.length > 50)
    throw new InputError(
      'shared-cluster',
      `'${sharedCluster}' is longer than 50 characters; CNPG derives pod and service names from it.`,
    );

  const backup = readBackup(inputs);
  const remoteAdminSecret = readRemoteAdminSecret(inputs, addonsNamespace);
  const { postgresImage, defaultVersion } = readImage(inputs);
  const sharedStorage = inputs.string('shared-storage', '10Gi');
  if (!/^\d+(Mi|Gi|Ti)$/.test(sharedStorage))
    throw new InputError('shared-storage', `'${sharedStorage}' is not a size such as 10Gi.`);
  const storageClass = inputs.optional('storage-class');

  return {
    apps,
    cwd: process.env.GITHUB_WORKSPACE || process.cwd(),
    mode: inputs.choice('mode', ['plan', 'apply'] as const, 'plan'),
    kubeconfig: inputs.optional('kubeconfig'),
    namespaceTemplate: template('namespace-template', '{app}'),
    envSecretTemplate: template('env-secret-template', '{app}-env'),
    deploymentTemplate: template('deployment-template', '{app}'),
    addonsNamespace,
    sharedCluster,
    sharedStorage,
    storageClass: storageClass ? inputs.kubeName('storage-class', storageClass) : undefined,
    backup,
    reclaim: inputs.choice('reclaim', ['delete', 'retain'] as const, 'delete'),
    remoteAdminSecret,
    postgresImage,
    defaultVersion,
    timeoutMs: inputs.duration('timeout', '15m'),
    parallel: inputs.number('parallel', 4, { min: 1, max: 32, integer: true }),
  };
}

function readBackup(inputs: Inputs): BackupConfig | undefined {
  const destinationPath = inputs.optional('backup-destination-path');
  if (!destinationPath) {
    for (const dependent of ['backup-endpoint-url', 'backup-credentials-secret']) {
      if (inputs.optional(dependent))
        throw new InputError(
          dependent,
          'is set but backup-destination-path is not; set the destination path too, or remove it.',
        );
    }
    return undefined;
  }
  if (!/^(s3|gs|https?):\/\/|^azure:/.test(destinationPath) && !/^[a-z]+:\/\//.test(destinationPath)) {
    throw new InputError(
      'backup-destination-path',
      `'${destinationPath}' is not an object store URL; use e.g. s3://bucket/addons.`,
    );
  }
  const schedule = inputs.string('backup-schedule', '0 0 3 * * *');
  const check = checkCnpgSchedule(schedule);
  if (!check.ok) throw new InputError('backup-schedule', check.problem!);
  const credentialsSecret = inputs.optional('backup-credentials-secret');
  return {
    destinationPath,
    endpointURL: inputs.optional('backup-endpoint-url'),
    credentialsSecret: credentialsSecret ? inputs.kubeName('backup-credentials-secret', credentialsSecret) : undefined,
    schedule,
  };
}

function readRemoteAdminSecret(inputs: Inputs, addonsNamespace: string): SyncConfig['remoteAdminSecret'] {
  const remote = inputs.optional('remote-admin-secret');
  if (!remote) return undefined;
  const [ns, name] = remote.includes('/') ? remote.split('/', 2) : [addonsNamespace, remote];
  return { namespace: inputs.kubeName('remote-admin-secret', ns), name: inputs.kubeName('remote-admin-secret', name) };
}

function readImage(inputs: Inputs): { postgresImage: string; defaultVersion: string } {
  const postgresImage = inputs.string('postgres-image', 'ghcr.io/cloudnative-pg/postgresql:{version}');
  if (!postgresImage.includes('{version}'))
    throw new InputError(
      'postgres-image',
      `'${postgresImage}' must contain {version}, e.g. ghcr.io/cloudnative-pg/postgresql:{version}.`,
    );
  const defaultVersion = inputs.string('postgres-version', '17');
  if (!/^\d+(\.\d+)?$/.test(defaultVersion))
    throw new InputError('postgres-version', `'${defaultVersion}' is not a PostgreSQL version such as 17.`);
  return { postgresImage, defaultVersion };
}

export function imageFor(config: SyncConfig, version: string | undefined): string {
  return config.postgresImage.replace(/\{version\}/g, version ?? config.defaultVersion);
}
