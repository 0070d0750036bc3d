// Read-only credentials for the restore: the recovery Cluster may read live's archive with other
// credentials than live's own, which can write (and so delete) it. In-tree, `recovery-credentials-secret`
// replaces the Secret of every credential key selector of live's barmanObjectStore (same key names);
// with the Barman Cloud plugin, `recovery-object-store` names another ObjectStore, which must point at
// the same destinationPath and endpointURL. Both are checked before anything is created; the recovery
// manifest, the copies to a sandbox or recovery site and the report then use what was chosen.
import { InputError } from '../inputs.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, withRetry, type RetryOptions } from '../kube/retry.js';
import { getObjectStore } from '../cnpg/api.js';
import type { BarmanObjectStoreConfiguration, Cluster, ObjectStore, SecretKeySelector } from '../cnpg/types.js';
import type { DrillInputs } from './inputs.js';
import { detectBackupMode, readLiveSpec, validateStore, type LiveSpec } from './live-spec.js';
import { secretRefs } from './recovery-copies.js';

/** What the recovery reads the archive with instead of live's credentials. */
export type RecoveryCredentials =
  | { input: 'recovery-credentials-secret'; secret: string }
  | { input: 'recovery-object-store'; objectStore: ObjectStore };

/** The report's "Restored with": which credentials the restore used (names only, never values). */
export interface CredentialsReport {
  /** live: the live cluster's own; else the input that chose others. */
  source: 'live' | 'recovery-credentials-secret' | 'recovery-object-store';
  /** The Secrets (namespace/name) of the credential key selectors; empty with a cloud identity. */
  secrets: string[];
  /** Plugin mode: the ObjectStore (namespace/name) the recovery read through. */
  objectStore?: string;
  describe: string;
}

/**
 * The credential key selectors of an object store configuration (s3Credentials, azureCredentials,
 * googleCredentials: test/playground/CONFORMANCE.md, section creds); endpointCA is not a credential.
 */
export function credentialRefs(store: BarmanObjectStoreConfiguration): SecretKeySelector[] {
  return secretRefs([store.s3Credentials, store.azureCredentials, store.googleCredentials]);
}

type Needs = Pick<DrillInputs, 'namespace' | 'cluster' | 'recoveryCredentialsSecret' | 'recoveryObjectStore'>;

/**
 * Checks the input against the live cluster's backup method and reads what it names: an InputError
 * (nothing created) for the wrong method, a missing Secret or ObjectStore, a missing key, another archive.
 */
export async function checkRecoveryCredentials(
  clients: KubeClients,
  inputs: Needs,
  live: Cluster,
  retry?: RetryOptions,
): Promise<RecoveryCredentials> {
  const mode = detectBackupMode(live);
  const liveStore =
    mode.mode === 'plugin' ? await getObjectStore(clients, inputs.namespace, mode.objectStoreName!, retry) : undefined;
  const spec = readLiveSpec(live, mode, liveStore);
  if (inputs.recoveryCredentialsSecret) {
    if (spec.plugin) throw wrongMethod('recovery-credentials-secret', spec);
    return checkSecret(clients, spec, inputs.recoveryCredentialsSecret, retry);
  }
  if (!spec.plugin) throw wrongMethod('recovery-object-store', spec);
  return checkObjectStore(clients, spec, inputs.recoveryObjectStore!, retry);
}

function wrongMethod(input: RecoveryCredentials['input'], spec: LiveSpec): InputError {
  const cluster = `Cluster ${spec.namespace}/${spec.name}`;
  if (input === 'recovery-credentials-secret')
    return new InputError(
      input,
      `${cluster} backs up through the Barman Cloud plugin (ObjectStore ${spec.plugin!.barmanObjectName}), which ` +
        `reads its credentials from an ObjectStore: set recovery-object-store to an ObjectStore with the same ` +
        `destinationPath and endpointURL and read-only credentials instead (nothing was created).`,
    );
  return new InputError(
    input,
    `${cluster} backs up in-tree (spec.backup.barmanObjectStore), which no ObjectStore configures: set ` +
      `recovery-credentials-secret to a Secret holding read-only keys under live's key names ` +
      `(${keyNames(spec.store).join(', ') || 'none'}) instead (nothing was created).`,
  );
}

const keyNames = (store: BarmanObjectStoreConfiguration) => [...new Set(credentialRefs(store).map((r) => r.key))];

async function checkSecret(
  clients: KubeClients,
  spec: LiveSpec,
  name: string,
  retry?: RetryOptions,
): Promise<RecoveryCredentials> {
  const input = 'recovery-credentials-secret';
  const refs = credentialRefs(spec.store);
  if (!refs.length)
    throw new InputError(
      input,
      `the live barmanObjectStore reads no credential Secret (it uses the pods' cloud identity: inheritFromIAMRole, ` +
        `inheritFromAzureAD, useDefaultAzureCredentials or gkeEnvironment), so there is nothing to replace; give that identity read-only ` +
        `access instead and leave recovery-credentials-secret empty.`,
    );
  const liveSecrets = [...new Set(refs.map((r) => r.name))];
  if (liveSecrets.includes(name))
    throw new InputError(
      input,
      `'${name}' is the Secret live's backups write with; name a Secret with read-only keys.`,
    );
  const keys = keyNames(spec.store);
  if (keys.length < new Set(refs.map((r) => `${r.name}/${r.key}`)).size)
    throw new InputError(
      input,
      `live's credentials read the same key name from different Secrets (${liveSecrets.join(', ')}), which ` +
        `one Secret cannot replace; give live's credential keys distinct names, or leave ${input} empty.`,
    );
  const secret = await ignoreNotFound(() =>
    withRetry(
      `read secret ${spec.namespace}/${name}`,
      () => clients.core.readNamespacedSecret({ namespace: spec.namespace, name }),
      retry,
    ),
  );
  const missing = keys.filter((k) => secret?.data?.[k] === undefined);
  const where = `Secret ${spec.namespace}/${name}`;
  if (!secret || missing.length)
    throw new InputError(
      input,
      `${secret ? `${where} lacks the key(s) ${missing.join(', ')}` : `${where} does not exist`}; ` +
        `it must hold ${keys.join(', ')} (the key names live's credentials read from ${liveSecrets.join(', ')}), ` +
        `or leave recovery-credentials-secret empty (nothing was created).`,
    );
  return { input, secret: name };
}

async function checkObjectStore(
  clients: KubeClients,
  spec: LiveSpec,
  name: string,
  retry?: RetryOptions,
): Promise<RecoveryCredentials> {
  const input = 'recovery-object-store';
  const liveName = `ObjectStore ${spec.namespace}/${spec.plugin!.barmanObjectName}`;
  const where = `ObjectStore ${spec.namespace}/${name}`;
  if (name === spec.plugin!.barmanObjectName)
    throw new InputError(input, `'${name}' is the ObjectStore live archives to; name one with read-only credentials.`);
  const objectStore = await getObjectStore(clients, spec.namespace, name, retry);
  if (!objectStore)
    throw new InputError(input, `${where} does not exist; create it, or leave recovery-object-store empty.`);
  const problems: string[] = [];
  const store = objectStore.spec?.configuration;
  validateStore(`${where} spec.configuration`, store, problems);
  for (const field of ['destinationPath', 'endpointURL'] as const) {
    if (store && (store[field] ?? '') !== (spec.store[field] ?? ''))
      problems.push(
        `${where} has ${field} '${store[field] ?? ''}' but live's ${liveName} has '${spec.store[field] ?? ''}'`,
      );
  }
  if (problems.length)
    throw new InputError(
      input,
      `${problems.join('; ')}: the recovery must read live's own archive; fix ${where} (nothing was created).`,
    );
  return { input, objectStore };
}

/** The spec the recovery reads the archive with: live's, with the chosen credentials (manifest, copies, report). */
export function withRecoveryCredentials(spec: LiveSpec, rc: RecoveryCredentials): LiveSpec {
  if (rc.input === 'recovery-object-store') {
    const { serverName: _ignored, ...store } = structuredClone(rc.objectStore.spec.configuration);
    return {
      ...spec,
      store,
      plugin: { ...spec.plugin!, barmanObjectName: rc.objectStore.metadata.name },
      credentials: { input: rc.input, instead: `ObjectStore ${spec.namespace}/${spec.plugin!.barmanObjectName}` },
    };
  }
  const store = structuredClone(spec.store);
  const instead = secretList(spec);
  for (const r of credentialRefs(store)) r.name = rc.secret;
  return { ...spec, store, credentials: { input: rc.input, instead: `Secret ${instead.join(', ')}` } };
}

const secretList = (spec: LiveSpec) => [
  ...new Set(credentialRefs(spec.store).map((r) => `${spec.namespace}/${r.name}`)),
];

/** Which credentials the restore reads the archive with, by name. */
export function credentialsReport(spec: LiveSpec): CredentialsReport {
  const secrets = secretList(spec);
  const objectStore = spec.plugin ? `${spec.namespace}/${spec.plugin.barmanObjectName}` : undefined;
  const keys = keyNames(spec.store);
  const what = [
    objectStore && `ObjectStore ${objectStore}`,
    secrets.length ? `Secret ${secrets.join(', ')} (keys ${keys.join(', ')})` : 'the pods’ cloud identity',
  ].filter(Boolean);
  const source = spec.credentials?.input ?? 'live';
  const describe =
    what.join(' with ') +
    (spec.credentials ? `, from ${source}, instead of live's ${spec.credentials.instead}` : ", live's own");
  return { source, secrets, ...(objectStore ? { objectStore } : {}), describe };
}
