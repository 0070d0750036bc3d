// Where a cluster archives and where a recovery reads: in-tree barmanObjectStore or the Barman
// Cloud plugin's ObjectStore, with credentials read from the referenced Secrets.
import type { KubeObject } from '../types.js';
import type { BarmanObjectStoreSpec, BarmanTarget } from './barman.js';
import type { Ctx } from './context.js';
import { GVR, PLUGIN_NAME, secretValue } from './context.js';

export type ArchiveMode = 'in-tree' | 'plugin';

export class ConfigError extends Error {}

function credentialsEnv(ctx: Ctx, ns: string, spec: BarmanObjectStoreSpec): Record<string, string> {
  const env: Record<string, string> = {};
  const c = spec.s3Credentials;
  if (!c || c.inheritFromIAMRole) return env; // boto3 then finds no credentials here, as without IRSA
  const read = (ref: { name: string; key: string } | undefined, envName: string) => {
    if (!ref) return;
    const secret = ctx.store.get(GVR.secret, ns, ref.name);
    if (!secret) throw new ConfigError(`while getting secret ${ref.name}: secrets "${ref.name}" not found`);
    const v = secretValue(secret, ref.key);
    if (v === undefined) throw new ConfigError(`missing key ${ref.key}, inside secret ${ref.name}`);
    env[envName] = v;
  };
  read(c.accessKeyId, 'AWS_ACCESS_KEY_ID');
  read(c.secretAccessKey, 'AWS_SECRET_ACCESS_KEY');
  read(c.region, 'AWS_DEFAULT_REGION');
  read(c.sessionToken, 'AWS_SESSION_TOKEN');
  return env;
}

export function toTarget(ctx: Ctx, ns: string, spec: BarmanObjectStoreSpec, serverName: string): BarmanTarget {
  if (!spec.destinationPath) throw new ConfigError('missing destinationPath');
  return {
    destinationPath: spec.destinationPath,
    endpointURL: spec.endpointURL,
    serverName,
    env: credentialsEnv(ctx, ns, spec),
    walCompression: spec.wal?.compression,
    dataCompression: spec.data?.compression,
  };
}

export function objectStoreConfig(
  ctx: Ctx,
  ns: string,
  name: string,
): { obj: KubeObject; spec: BarmanObjectStoreSpec } {
  const obj = ctx.store.get(GVR.objectStore, ns, name);
  if (!obj) throw new ConfigError(`ObjectStore ${ns}/${name} not found`);
  return { obj, spec: obj.spec?.configuration ?? {} };
}

export function walArchiverPlugin(cluster: KubeObject): any | undefined {
  return (cluster.spec?.plugins ?? []).find(
    (p: any) => p.name === PLUGIN_NAME && p.enabled !== false && p.isWALArchiver,
  );
}

export interface ArchiveConfig {
  mode: ArchiveMode;
  target: BarmanTarget;
  objectStoreName?: string;
  parameters: Record<string, string>;
}

/** The cluster's own archive, or undefined when it does not archive. */
export function clusterArchive(ctx: Ctx, cluster: KubeObject): ArchiveConfig | undefined {
  const ns = cluster.metadata.namespace!;
  const inTree = cluster.spec?.backup?.barmanObjectStore as BarmanObjectStoreSpec | undefined;
  if (inTree) {
    return {
      mode: 'in-tree',
      target: toTarget(ctx, ns, inTree, inTree.serverName || cluster.metadata.name),
      parameters: {},
    };
  }
  const plugin = walArchiverPlugin(cluster);
  if (plugin) {
    const params = plugin.parameters ?? {};
    const { spec } = objectStoreConfig(ctx, ns, params.barmanObjectName);
    return {
      mode: 'plugin',
      target: toTarget(ctx, ns, spec, params.serverName || cluster.metadata.name),
      objectStoreName: params.barmanObjectName,
      parameters: params,
    };
  }
  return undefined;
}

/**
 * Where a recovery reads from. In-tree sources default the server name to the external
 * cluster's name; plugin sources to the restoring cluster's own name (as CNPG and the plugin do).
 */
export function recoverySource(
  ctx: Ctx,
  cluster: KubeObject,
): { target: BarmanTarget; mode: ArchiveMode; backup?: KubeObject } {
  const ns = cluster.metadata.namespace!;
  const rec = cluster.spec.bootstrap.recovery;
  if (rec.backup?.name) {
    const backup = ctx.store.get(GVR.backup, ns, rec.backup.name);
    if (!backup)
      throw new ConfigError(
        `cannot get backup ${rec.backup.name}: backups.postgresql.cnpg.io "${rec.backup.name}" not found`,
      );
    const srcCluster = ctx.store.get(GVR.cluster, ns, backup.spec?.cluster?.name);
    if (backup.spec?.method === 'plugin') {
      const params = { ...(backup.spec.pluginConfiguration?.parameters ?? {}) };
      const { spec } = objectStoreConfig(ctx, ns, params.barmanObjectName);
      return {
        target: toTarget(ctx, ns, spec, backup.status?.serverName || params.serverName || backup.spec.cluster.name),
        mode: 'plugin',
        backup,
      };
    }
    const store: BarmanObjectStoreSpec = srcCluster?.spec?.backup?.barmanObjectStore ?? {};
    const spec: BarmanObjectStoreSpec = {
      ...store,
      destinationPath: backup.status?.destinationPath ?? store.destinationPath,
      endpointURL: backup.status?.endpointURL ?? store.endpointURL,
    };
    return {
      target: toTarget(ctx, ns, spec, backup.status?.serverName || store.serverName || backup.spec.cluster.name),
      mode: 'in-tree',
      backup,
    };
  }
  const ext = (cluster.spec.externalClusters ?? []).find((e: any) => e.name === rec.source);
  if (!ext) throw new ConfigError(`missing external cluster: ${rec.source}`);
  if (ext.barmanObjectStore) {
    return {
      target: toTarget(ctx, ns, ext.barmanObjectStore, ext.barmanObjectStore.serverName || ext.name),
      mode: 'in-tree',
    };
  }
  if (ext.plugin) {
    const params = ext.plugin.parameters ?? {};
    const { spec } = objectStoreConfig(ctx, ns, params.barmanObjectName);
    return { target: toTarget(ctx, ns, spec, params.serverName || cluster.metadata.name), mode: 'plugin' };
  }
  throw new ConfigError(`missing barman object store configuration for source: ${rec.source}`);
}
