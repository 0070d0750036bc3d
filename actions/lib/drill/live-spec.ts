// What a recovery of the live cluster needs, read from its spec (and its ObjectStore in plugin
// mode) and validated field by field: a missing field fails here with its path, instead of as a
// webhook rejection (or a recovery into nowhere) later.
import {
  BARMAN_CLOUD_PLUGIN,
  type BarmanObjectStoreConfiguration,
  type Cluster,
  type ClusterSpec,
  type ObjectStore,
  type StorageConfiguration,
  type TablespaceConfiguration,
} from '../cnpg/types.js';
import { VerdictError } from '../errors.js';

export type BackupMode = 'in-tree' | 'plugin';

/** Parameters pg_controldata records: a recovery with lower values refuses to replay. */
export const CONTROLDATA_PARAMETERS = [
  'max_connections',
  'max_wal_senders',
  'max_worker_processes',
  'max_prepared_transactions',
  'max_locks_per_transaction',
] as const;

export interface LiveSpec {
  name: string;
  namespace: string;
  mode: BackupMode;
  imageName?: string;
  imageCatalogRef?: ClusterSpec['imageCatalogRef'];
  /** Copied whole: a storage class may live in pvcTemplate.storageClassName. */
  storage: StorageConfiguration & { size: string };
  walStorage?: StorageConfiguration;
  /** Recovery needs the exact list of tablespaces (docs/src/tablespaces.md). */
  tablespaces?: TablespaceConfiguration[];
  parameters: Record<string, string>;
  /** What the recovery pods need to pull the image and reach the archive (IRSA, proxies). */
  pod: Pick<
    ClusterSpec,
    | 'serviceAccountTemplate'
    | 'serviceAccountName'
    | 'imagePullSecrets'
    | 'postgresUID'
    | 'postgresGID'
    | 'env'
    | 'envFrom'
  >;
  /** Where the archive is and the credentials the recovery reads it with (plugin mode: the ObjectStore's configuration). */
  store: BarmanObjectStoreConfiguration;
  /** Set when the recovery reads it with other credentials than live's (recovery-credentials.ts). */
  credentials?: { input: 'recovery-credentials-secret' | 'recovery-object-store'; instead: string };
  /** The live cluster's server name in the archive (explicit: the two modes default differently). */
  serverName: string;
  /** Plugin mode: the ObjectStore and plugin to recover through. */
  plugin?: { name: string; barmanObjectName: string };
  database: string;
  owner: string;
}

/** A verdict: the live spec cannot be drilled, for these reasons. */
export class LiveSpecError extends VerdictError {
  constructor(
    readonly cluster: string,
    readonly problems: string[],
  ) {
    super(
      problems.map((p) => `live cluster spec: ${p}`),
      `Cluster ${cluster} cannot be drilled: ${problems.join('; ')}`,
    );
    this.name = 'LiveSpecError';
  }
}

export interface ModeDetection {
  mode: BackupMode;
  /** Plugin mode: the ObjectStore to read. */
  objectStoreName?: string;
  pluginName?: string;
  pluginServerName?: string;
}

/** Which archive the live cluster writes to: a WAL-archiver plugin entry, else in-tree barmanObjectStore. */
export function detectBackupMode(cluster: Cluster): ModeDetection {
  const name = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
  const plugins = cluster.spec.plugins ?? [];
  const idx = plugins.findIndex((p) => p.enabled !== false && (p.isWALArchiver || p.name === BARMAN_CLOUD_PLUGIN));
  if (idx >= 0) {
    const p = plugins[idx];
    const objectStoreName = p.parameters?.barmanObjectName;
    if (!objectStoreName)
      throw new LiveSpecError(name, [
        `spec.plugins[${idx}].parameters.barmanObjectName is missing (plugin '${p.name}' has no ObjectStore to recover from)`,
      ]);
    return { mode: 'plugin', objectStoreName, pluginName: p.name, pluginServerName: p.parameters?.serverName };
  }
  const bos = cluster.spec.backup?.barmanObjectStore;
  if (bos) return { mode: 'in-tree' };
  throw new LiveSpecError(name, [
    'it has no backups configured: neither spec.backup.barmanObjectStore (in-tree) ' +
      'nor a spec.plugins[] entry with isWALArchiver / barmanObjectName (Barman Cloud plugin)',
  ]);
}

/**
 * Everything the recovery manifest copies. `objectStore` is required in plugin mode (the caller
 * reads the ObjectStore named by detectBackupMode).
 */
export function readLiveSpec(cluster: Cluster, mode: ModeDetection, objectStore?: ObjectStore): LiveSpec {
  const s = cluster.spec;
  const problems: string[] = [];
  const imageName = cluster.status?.image || s.imageName;
  if (!imageName && !s.imageCatalogRef)
    problems.push('no image: spec.imageName, spec.imageCatalogRef and status.image are all empty');
  const size = checkStorage(s, problems);
  const { store, serverName, plugin } = archiveOf(cluster, mode, objectStore, problems);
  const parameters = controldataParameters(s);
  const { database, owner } = applicationDatabase(s);

  if (problems.length) throw new LiveSpecError(`${cluster.metadata.namespace}/${cluster.metadata.name}`, problems);
  return {
    name: cluster.metadata.name,
    namespace: cluster.metadata.namespace!,
    mode: mode.mode,
    imageName,
    imageCatalogRef: imageName ? undefined : s.imageCatalogRef,
    storage: { ...structuredClone(s.storage!), size: size! },
    ...(s.walStorage ? { walStorage: structuredClone(s.walStorage) } : {}),
    ...(s.tablespaces?.length ? { tablespaces: structuredClone(s.tablespaces) } : {}),
    parameters,
    pod: podSettings(s),
    store: stripServerName(store!),
    serverName,
    plugin,
    database,
    owner,
  };
}

/** Every volume the recovery creates needs a size; returns the data volume's. */
function checkStorage(s: ClusterSpec, problems: string[]): string | undefined {
  const size = sizeOf(s.storage);
  if (!size) problems.push('spec.storage.size is missing (nor spec.storage.pvcTemplate.resources.requests.storage)');
  if (s.walStorage && !sizeOf(s.walStorage))
    problems.push('spec.walStorage has no size (spec.walStorage.size or pvcTemplate.resources.requests.storage)');
  for (const [i, t] of (s.tablespaces ?? []).entries()) {
    if (!sizeOf(t.storage))
      problems.push(
        `spec.tablespaces[${i}] (${t.name}) has no storage size: the recovery must declare every tablespace`,
      );
  }
  return size;
}

/** The archive to recover from: the in-tree barmanObjectStore, or the plugin's ObjectStore. */
function archiveOf(
  cluster: Cluster,
  mode: ModeDetection,
  objectStore: ObjectStore | undefined,
  problems: string[],
): { store?: BarmanObjectStoreConfiguration; serverName: string; plugin: LiveSpec['plugin'] } {
  if (mode.mode === 'in-tree') {
    const store = cluster.spec.backup?.barmanObjectStore;
    validateStore('spec.backup.barmanObjectStore', store, problems);
    return { store, serverName: store?.serverName || cluster.metadata.name, plugin: undefined };
  }
  const where = `ObjectStore ${cluster.metadata.namespace}/${mode.objectStoreName}`;
  let store: BarmanObjectStoreConfiguration | undefined;
  if (!objectStore) problems.push(`${where} (named by spec.plugins[].parameters.barmanObjectName) does not exist`);
  else {
    store = objectStore.spec?.configuration;
    validateStore(`${where} spec.configuration`, store, problems);
  }
  return {
    store,
    serverName: mode.pluginServerName || cluster.metadata.name,
    plugin: { name: mode.pluginName ?? BARMAN_CLOUD_PLUGIN, barmanObjectName: mode.objectStoreName! },
  };
}

function controldataParameters(s: ClusterSpec): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const p of CONTROLDATA_PARAMETERS) {
    const v = s.postgresql?.parameters?.[p];
    if (v !== undefined) parameters[p] = String(v);
  }
  return parameters;
}

/** GetApplicationDatabaseName / Owner (api/v1/cluster_funcs.go): recovery, then pg_basebackup, then initdb. */
function applicationDatabase(s: ClusterSpec): { database: string; owner: string } {
  const b = s.bootstrap;
  const bootstrap = [b?.recovery, b?.pg_basebackup, b?.initdb].find((x) => x?.database);
  const database = bootstrap?.database || 'app';
  return { database, owner: bootstrap?.owner || database };
}

export function validateStore(
  path: string,
  store: BarmanObjectStoreConfiguration | undefined,
  problems: string[],
): void {
  if (!store) {
    problems.push(`${path} is missing`);
    return;
  }
  if (!store.destinationPath)
    problems.push(`${path}.destinationPath is missing (the archive location the recovery reads)`);
  const creds = store.s3Credentials ?? store.azureCredentials ?? store.googleCredentials;
  if (!creds) problems.push(`${path} has no credentials (s3Credentials, azureCredentials or googleCredentials)`);
  const s3 = store.s3Credentials;
  if (s3 && !s3.inheritFromIAMRole) {
    for (const k of ['accessKeyId', 'secretAccessKey'] as const) {
      const ref = s3[k];
      if (!ref?.name || !ref?.key)
        problems.push(`${path}.s3Credentials.${k} needs a secret name and key (or set inheritFromIAMRole)`);
    }
  }
}

function stripServerName(store: BarmanObjectStoreConfiguration): BarmanObjectStoreConfiguration {
  const { serverName: _ignored, ...rest } = store;
  return structuredClone(rest);
}

function sizeOf(st: StorageConfiguration | undefined): string | undefined {
  return st?.size || st?.pvcTemplate?.resources?.requests?.storage;
}

function podSettings(s: ClusterSpec): LiveSpec['pod'] {
  const keys = [
    'serviceAccountTemplate',
    'serviceAccountName',
    'imagePullSecrets',
    'postgresUID',
    'postgresGID',
    'env',
    'envFrom',
  ] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (s[k] !== undefined) out[k] = structuredClone(s[k]);
  return out as LiveSpec['pod'];
}
