// Read-only credentials for the restore (recovery-credentials.ts) against the API server emulator:
// the input fits the backup method, what it names exists and reads live's own archive, else one
// InputError naming the input and the fix; the recovery manifest, the copies and the report then
// use the chosen credentials, never live's.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRecoveryCredentials,
  credentialsReport,
  withRecoveryCredentials,
} from '../../actions/lib/drill/recovery-credentials.js';
import { detectBackupMode, readLiveSpec } from '../../actions/lib/drill/live-spec.js';
import { recoveryClusterManifest } from '../../actions/lib/drill/recovery-manifest.js';
import { planCopies, retargetManifest } from '../../actions/lib/drill/recovery-copies.js';
import { readDrillInputs } from '../../actions/lib/drill/inputs.js';
import { makeClients, type KubeClients } from '../../actions/lib/kube/client.js';
import type { Cluster, ObjectStore } from '../../actions/lib/cnpg/types.js';
import { eventually, startTestServer, type TestServer } from '../playground/apiserver/testing.js';
import { kubeconfigYaml } from '../playground/kubeconfig.js';
import { objectStoreCrd } from '../fixtures/charts/upstream/cnpg-crds.js';
import { recordingCore } from '../helpers/recording-core.js';

const NS = 'databases';
const b64 = (v: string) => Buffer.from(v).toString('base64');
let s: TestServer;
let clients: KubeClients;

const store = (destinationPath = 's3://backups/pg', secret = 'backup-creds', endpointURL = 'https://s3.example') => ({
  destinationPath,
  endpointURL,
  endpointCA: { name: 'minio-ca', key: 'ca.crt' },
  s3Credentials: {
    accessKeyId: { name: secret, key: 'ACCESS_KEY_ID' },
    secretAccessKey: { name: secret, key: 'ACCESS_SECRET_KEY' },
  },
});
const cluster = (name: string, spec: Record<string, unknown>) =>
  ({
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name, namespace: NS },
    spec: { instances: 1, imageName: 'postgres:17', storage: { size: '1Gi' }, ...spec },
  }) as unknown as Cluster;
const inTree = cluster('pg-main', { backup: { barmanObjectStore: store() } });
const plugin = cluster('pg-plug', {
  plugins: [{ name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true, parameters: { barmanObjectName: 'live' } }],
});
const objectStore = (name: string, configuration: object) => ({
  apiVersion: 'barmancloud.cnpg.io/v1',
  kind: 'ObjectStore',
  metadata: { name, namespace: NS },
  spec: { configuration },
});
const inputs = (o: { secret?: string; objectStore?: string }, name = 'pg-main') => ({
  namespace: NS,
  cluster: name,
  recoveryCredentialsSecret: o.secret,
  recoveryObjectStore: o.objectStore,
});

beforeAll(async () => {
  s = await startTestServer();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(s.url));
  clients = makeClients(kc, 5_000);
  expect(
    (await s.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', objectStoreCrd())).status,
  ).toBe(201);
  await eventually(async () => (await s.req('GET', '/apis/barmancloud.cnpg.io/v1/objectstores')).status === 200);
  s.store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const secret = (name: string, data: Record<string, string>) =>
    s.store.create('v1/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, data });
  secret('backup-creds', { ACCESS_KEY_ID: b64('rw'), ACCESS_SECRET_KEY: b64('rw-secret') });
  secret('archive-readonly', { ACCESS_KEY_ID: b64('ro'), ACCESS_SECRET_KEY: b64('ro-secret') });
  secret('half', { ACCESS_KEY_ID: b64('ro') });
  const os = 'barmancloud.cnpg.io/v1/objectstores';
  s.store.create(os, objectStore('live', store()));
  s.store.create(
    os,
    objectStore('live-readonly', { ...store('s3://backups/pg', 'archive-readonly'), serverName: 'x' }),
  );
  s.store.create(os, objectStore('elsewhere', store('s3://backups/other', 'archive-readonly')));
  s.store.create(
    os,
    objectStore('other-endpoint', store('s3://backups/pg', 'archive-readonly', 'https://minio.local')),
  );
});
afterAll(async () => {
  await s?.stop();
});

const liveSpec = async (c: Cluster) => {
  const mode = detectBackupMode(c);
  const os = mode.objectStoreName
    ? ((await clients.custom.getNamespacedCustomObject({
        group: 'barmancloud.cnpg.io',
        version: 'v1',
        namespace: NS,
        plural: 'objectstores',
        name: mode.objectStoreName,
      })) as ObjectStore)
    : undefined;
  return readLiveSpec(c, mode, os);
};
const options = { name: 'pg-main-drill-1-1', runId: '1', createdAt: new Date(0) };

describe('recovery-credentials-secret (in-tree)', () => {
  it('replaces every credential Secret of the recovery (same keys; endpointCA stays) and copies only it', async () => {
    const rc = await checkRecoveryCredentials(clients, inputs({ secret: 'archive-readonly' }), inTree);
    const spec = withRecoveryCredentials(await liveSpec(inTree), rc);
    const m = recoveryClusterManifest(spec, options);
    const ext = m.spec.externalClusters![0].barmanObjectStore!;
    expect(ext.s3Credentials).toEqual({
      accessKeyId: { name: 'archive-readonly', key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: 'archive-readonly', key: 'ACCESS_SECRET_KEY' },
    });
    expect(ext.endpointCA).toEqual({ name: 'minio-ca', key: 'ca.crt' });
    expect(ext.destinationPath).toBe('s3://backups/pg');
    expect(JSON.stringify(m)).not.toContain('backup-creds');
    // At a sandbox, the copies are of the read-only Secret (and the CA), never of live's credentials.
    const plan = planCopies(spec.store, undefined, spec.pod);
    expect(plan.secrets.map((c) => c.name)).toEqual(['minio-ca', 'archive-readonly']);
    retargetManifest(m, 'drill-sandbox', plan);
    expect(m.spec.externalClusters![0].barmanObjectStore!.s3Credentials!.accessKeyId!.name).toBe(
      'pg-main-drill-1-1-archive-readonly',
    );
    expect(credentialsReport(spec)).toEqual({
      source: 'recovery-credentials-secret',
      secrets: [`${NS}/archive-readonly`],
      describe:
        `Secret ${NS}/archive-readonly (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY), from recovery-credentials-secret, ` +
        `instead of live's Secret ${NS}/backup-creds`,
    });
    expect(credentialsReport(await liveSpec(inTree)).describe).toBe(
      `Secret ${NS}/backup-creds (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY), live's own`,
    );
  });

  it('refuses, naming the input and the fix: the wrong method, a missing Secret or key, live’s own Secret', async () => {
    const refuse = (c: Cluster, o: { secret?: string; objectStore?: string }) =>
      expect(checkRecoveryCredentials(clients, inputs(o, c.metadata.name), c)).rejects;
    await refuse(inTree, { objectStore: 'live-readonly' }).toThrow(
      `Input 'recovery-object-store': Cluster ${NS}/pg-main backs up in-tree (spec.backup.barmanObjectStore), which ` +
        `no ObjectStore configures: set recovery-credentials-secret to a Secret holding read-only keys under ` +
        `live's key names (ACCESS_KEY_ID, ACCESS_SECRET_KEY) instead (nothing was created).`,
    );
    await refuse(plugin, { secret: 'archive-readonly' }).toThrow(
      /^Input 'recovery-credentials-secret': Cluster databases\/pg-plug backs up through the Barman Cloud plugin .*set recovery-object-store/,
    );
    await refuse(inTree, { secret: 'nope' }).toThrow(
      `Input 'recovery-credentials-secret': Secret ${NS}/nope does not exist; it must hold ACCESS_KEY_ID, ` +
        `ACCESS_SECRET_KEY (the key names live's credentials read from backup-creds)`,
    );
    await refuse(inTree, { secret: 'half' }).toThrow(`Secret ${NS}/half lacks the key(s) ACCESS_SECRET_KEY;`);
    await refuse(inTree, { secret: 'backup-creds' }).toThrow(`'backup-creds' is the Secret live's backups write with`);
    const iam = cluster('pg-iam', {
      backup: { barmanObjectStore: { destinationPath: 's3://b/p', s3Credentials: { inheritFromIAMRole: true } } },
    });
    await refuse(iam, { secret: 'archive-readonly' }).toThrow(/reads no credential Secret .* nothing to replace/);
  });

  it('both inputs at once are one input error, read before the cluster is touched', () => {
    const core = recordingCore({
      cluster: 'pg',
      namespace: 'db',
      'recovery-credentials-secret': 'ro',
      'recovery-object-store': 'ro-store',
    }).core;
    expect(() => readDrillInputs(core)).toThrow(
      "Input 'recovery-object-store': is set together with recovery-credentials-secret; set only the one for the " +
        "live cluster's backup method",
    );
  });
});

describe('recovery-object-store (Barman Cloud plugin)', () => {
  it('recovers through the other ObjectStore (live’s server name) and copies it, not live’s', async () => {
    const rc = await checkRecoveryCredentials(clients, inputs({ objectStore: 'live-readonly' }, 'pg-plug'), plugin);
    const spec = withRecoveryCredentials(await liveSpec(plugin), rc);
    const m = recoveryClusterManifest(spec, options);
    expect(m.spec.externalClusters).toEqual([
      {
        name: 'pg-plug',
        plugin: {
          name: 'barman-cloud.cloudnative-pg.io',
          parameters: { barmanObjectName: 'live-readonly', serverName: 'pg-plug' },
        },
      },
    ]);
    expect(planCopies(spec.store, rc.input === 'recovery-object-store' ? rc.objectStore : undefined).secrets).toEqual([
      expect.objectContaining({ name: 'minio-ca' }),
      expect.objectContaining({ name: 'archive-readonly' }),
    ]);
    expect(credentialsReport(spec)).toMatchObject({
      source: 'recovery-object-store',
      objectStore: `${NS}/live-readonly`,
      secrets: [`${NS}/archive-readonly`],
    });
    expect(credentialsReport(spec).describe).toContain(`instead of live's ObjectStore ${NS}/live`);
  });

  it('refuses another archive (naming both values), a missing ObjectStore and live’s own', async () => {
    const refuse = (objectStore: string) =>
      expect(checkRecoveryCredentials(clients, inputs({ objectStore }, 'pg-plug'), plugin)).rejects;
    await refuse('elsewhere').toThrow(
      `Input 'recovery-object-store': ObjectStore ${NS}/elsewhere has destinationPath 's3://backups/other' but ` +
        `live's ObjectStore ${NS}/live has 's3://backups/pg': the recovery must read live's own archive; ` +
        `fix ObjectStore ${NS}/elsewhere (nothing was created).`,
    );
    await refuse('other-endpoint').toThrow(
      `has endpointURL 'https://minio.local' but live's ObjectStore ${NS}/live has 'https://s3.example'`,
    );
    await refuse('nope').toThrow(
      `Input 'recovery-object-store': ObjectStore ${NS}/nope does not exist; create it, or leave recovery-object-store empty.`,
    );
    await refuse('live').toThrow(`'live' is the ObjectStore live archives to`);
  });
});
