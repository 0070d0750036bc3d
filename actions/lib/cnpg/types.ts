// CloudNativePG API types and names the suite reads and writes (upstream sources: test/playground/CONFORMANCE.md).
// Types only; behaviour lives in the sibling modules.

export const CNPG_GROUP = 'postgresql.cnpg.io';
export const CNPG_VERSION = 'v1';
export const BARMAN_CLOUD_GROUP = 'barmancloud.cnpg.io';
export const BARMAN_CLOUD_VERSION = 'v1';
export const BARMAN_CLOUD_PLUGIN = 'barman-cloud.cloudnative-pg.io';

export const Plural = {
  clusters: 'clusters',
  backups: 'backups',
  scheduledBackups: 'scheduledbackups',
  databases: 'databases',
  objectStores: 'objectstores',
} as const;

export const Phase = {
  settingUpPrimary: 'Setting up primary',
  creatingReplica: 'Creating a new replica',
  healthy: 'Cluster in healthy state',
  waitingForInstances: 'Waiting for the instances to become active',
  unrecoverable: 'Cluster is unrecoverable and needs manual intervention',
  cannotCreateObjects: 'Unable to create required cluster objects',
  unknownPlugin: 'Cluster cannot proceed to reconciliation due to an unknown plugin being required',
  pluginError: 'Cluster cannot proceed to reconciliation due to an error while interacting with plugins',
  invalidImageCatalog: 'Cluster has incomplete or invalid image catalog',
  invalidDefinition: 'Invalid cluster definition',
} as const;

/** Error phases CNPG never leaves on its own (cluster_controller.go, cluster_funcs.go SetAdmissionError). */
export const PERMANENT_FAILURE_PHASES: readonly string[] = [Phase.unrecoverable, Phase.invalidDefinition];

/** Error phases CNPG sets on errors it requeues: they flip back once the cause is gone. */
export const RETRIED_FAILURE_PHASES: readonly string[] = [
  Phase.cannotCreateObjects,
  Phase.unknownPlugin,
  Phase.pluginError,
  Phase.invalidImageCatalog,
];

export const BackupPhase = {
  pending: 'pending',
  started: 'started',
  running: 'running',
  finalizing: 'finalizing',
  completed: 'completed',
  failed: 'failed',
  walArchivingFailing: 'walArchivingFailing',
  invalid: 'invalid backup definition',
} as const;

export const Label = {
  cluster: 'cnpg.io/cluster',
  instanceName: 'cnpg.io/instanceName',
  instanceRole: 'cnpg.io/instanceRole',
  podRole: 'cnpg.io/podRole',
  jobRole: 'cnpg.io/jobRole',
  scheduledBackup: 'cnpg.io/scheduled-backup',
  userType: 'cnpg.io/userType',
  reload: 'cnpg.io/reload',
} as const;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

export interface SecretKeySelector {
  name: string;
  key: string;
}

export interface S3Credentials {
  accessKeyId?: SecretKeySelector;
  secretAccessKey?: SecretKeySelector;
  region?: SecretKeySelector;
  sessionToken?: SecretKeySelector;
  inheritFromIAMRole?: boolean;
}

export interface BarmanObjectStoreConfiguration {
  destinationPath: string;
  endpointURL?: string;
  endpointCA?: SecretKeySelector;
  serverName?: string;
  s3Credentials?: S3Credentials;
  azureCredentials?: Record<string, unknown>;
  googleCredentials?: Record<string, unknown>;
  wal?: { compression?: string; encryption?: string; maxParallel?: number };
  data?: { compression?: string; encryption?: string; jobs?: number; immediateCheckpoint?: boolean };
  tags?: Record<string, string>;
}

export interface PluginConfiguration {
  name: string;
  enabled?: boolean;
  isWALArchiver?: boolean;
  parameters?: Record<string, string>;
}

export interface ExternalCluster {
  name: string;
  connectionParameters?: Record<string, string>;
  password?: SecretKeySelector;
  barmanObjectStore?: BarmanObjectStoreConfiguration;
  plugin?: { name: string; parameters?: Record<string, string> };
}

export interface RecoveryTarget {
  backupID?: string;
  targetTime?: string;
  targetName?: string;
  targetLSN?: string;
  targetXID?: string;
  targetTLI?: string;
  targetImmediate?: boolean;
  exclusive?: boolean;
}

export interface BootstrapRecovery {
  source?: string;
  backup?: { name: string };
  recoveryTarget?: RecoveryTarget;
  database?: string;
  owner?: string;
  secret?: { name: string };
}

export interface BootstrapInitDB {
  database?: string;
  owner?: string;
  secret?: { name: string };
  postInitApplicationSQL?: string[];
}

export interface ManagedRole {
  name: string;
  ensure?: 'present' | 'absent';
  login?: boolean;
  inherit?: boolean;
  connectionLimit?: number;
  inRoles?: string[];
  passwordSecret?: { name: string };
  comment?: string;
}

export interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/** StorageConfiguration (api/v1/cluster_types.go): storageClass wins over pvcTemplate.storageClassName. */
export interface StorageConfiguration {
  size?: string;
  storageClass?: string;
  resizeInUseVolumes?: boolean;
  pvcTemplate?: { storageClassName?: string; resources?: { requests?: { storage?: string } }; [k: string]: unknown };
}

export interface TablespaceConfiguration {
  name: string;
  storage: StorageConfiguration;
  owner?: { name?: string };
  temporary?: boolean;
}

export interface ClusterSpec {
  instances?: number;
  imageName?: string;
  imageCatalogRef?: { apiGroup?: string; kind: string; name: string; major: number };
  enableSuperuserAccess?: boolean;
  superuserSecret?: { name: string };
  storage?: StorageConfiguration;
  walStorage?: StorageConfiguration;
  tablespaces?: TablespaceConfiguration[];
  imagePullSecrets?: { name: string }[];
  /** 1.30+: an existing ServiceAccount instead of the generated one. */
  serviceAccountName?: string;
  postgresUID?: number;
  postgresGID?: number;
  env?: Record<string, unknown>[];
  envFrom?: Record<string, unknown>[];
  postgresql?: { parameters?: Record<string, string>; pg_hba?: string[] };
  resources?: Resources;
  serviceAccountTemplate?: { metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> } };
  backup?: {
    barmanObjectStore?: BarmanObjectStoreConfiguration;
    retentionPolicy?: string;
    target?: string;
    volumeSnapshot?: Record<string, unknown>;
  };
  plugins?: PluginConfiguration[];
  bootstrap?: {
    initdb?: BootstrapInitDB;
    recovery?: BootstrapRecovery;
    pg_basebackup?: { database?: string; owner?: string; secret?: { name: string }; source?: string };
  };
  externalClusters?: ExternalCluster[];
  managed?: { roles?: ManagedRole[] };
  affinity?: Record<string, unknown>;
  monitoring?: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ClusterStatus {
  phase?: string;
  phaseReason?: string;
  conditions?: Condition[];
  instances?: number;
  readyInstances?: number;
  instanceNames?: string[];
  currentPrimary?: string;
  targetPrimary?: string;
  image?: string;
  timelineID?: number;
  systemID?: string;
  writeService?: string;
  readService?: string;
  /** Deprecated since 1.27: the minimum over firstRecoverabilityPointByMethod (volume snapshots included). */
  firstRecoverabilityPoint?: string;
  /** Per backup method (barmanObjectStore, volumeSnapshot), published since 1.25 for in-tree backups. */
  firstRecoverabilityPointByMethod?: Partial<Record<'barmanObjectStore' | 'volumeSnapshot', string>>;
  lastSuccessfulBackup?: string;
  lastSuccessfulBackupByMethod?: Partial<Record<'barmanObjectStore' | 'volumeSnapshot', string>>;
  lastFailedBackup?: string;
  managedRolesStatus?: {
    byStatus?: Record<string, string[]>;
    cannotReconcile?: Record<string, string[]>;
    passwordStatus?: Record<string, unknown>;
  };
}

export interface Cluster {
  apiVersion: string;
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: ClusterSpec;
  status?: ClusterStatus;
}

export interface BackupSpec {
  cluster: { name: string };
  method?: 'barmanObjectStore' | 'volumeSnapshot' | 'plugin';
  pluginConfiguration?: { name: string; parameters?: Record<string, string> };
  target?: string;
  online?: boolean;
}

export interface BackupStatus {
  phase?: string;
  backupId?: string;
  backupName?: string;
  startedAt?: string;
  stoppedAt?: string;
  beginWal?: string;
  endWal?: string;
  beginLSN?: string;
  endLSN?: string;
  error?: string;
  method?: string;
  destinationPath?: string;
  serverName?: string;
  instanceID?: { podName?: string };
}

export interface Backup {
  apiVersion: string;
  kind: 'Backup';
  metadata: ObjectMeta;
  spec: BackupSpec;
  status?: BackupStatus;
}

export interface ScheduledBackup {
  apiVersion: string;
  kind: 'ScheduledBackup';
  metadata: ObjectMeta;
  spec: {
    schedule: string;
    cluster: { name: string };
    immediate?: boolean;
    suspend?: boolean;
    backupOwnerReference?: 'none' | 'self' | 'cluster';
    method?: string;
    pluginConfiguration?: { name: string; parameters?: Record<string, string> };
  };
  status?: { lastScheduleTime?: string; nextScheduleTime?: string; lastCheckTime?: string };
}

export interface ObjectStore {
  apiVersion: string;
  kind: 'ObjectStore';
  metadata: ObjectMeta;
  spec: {
    configuration: BarmanObjectStoreConfiguration;
    retentionPolicy?: string;
    /** The plugin adds `env` to the instance sidecar (internal/cnpgi/operator/lifecycle_envs.go). */
    instanceSidecarConfiguration?: { env?: Record<string, unknown>[]; [k: string]: unknown };
  };
  status?: {
    serverRecoveryWindow?: Record<
      string,
      { firstRecoverabilityPoint?: string; lastSuccessfulBackupTime?: string; lastFailedBackupTime?: string }
    >;
  };
}

export interface Database {
  apiVersion: string;
  kind: 'Database';
  metadata: ObjectMeta;
  spec: {
    cluster: { name: string };
    name: string;
    owner: string;
    ensure?: 'present' | 'absent';
    databaseReclaimPolicy?: 'retain' | 'delete';
  };
  status?: { applied?: boolean; message?: string; observedGeneration?: number };
}
