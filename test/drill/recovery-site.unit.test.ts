// The recovery site's inputs and the copy plan (recovery-site.ts, recovery-copies.ts): no cluster needed.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { copyName, planCopies, retargetManifest, secretRefs } from '../../actions/lib/drill/recovery-copies.js';
import { openRecoverySite, siteAccess } from '../../actions/lib/drill/recovery-site.js';
import { restoreConnectionMode } from '../../actions/lib/drill/sessions.js';
import type { KubeClients } from '../../actions/lib/kube/client.js';
import type { Cluster, ObjectStore } from '../../actions/lib/cnpg/types.js';
import { kubeconfigYaml } from '../playground/kubeconfig.js';

const core = { setSecret: () => {} };
const kcFor = (server: string) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(server));
  return kc;
};
const live = (server = 'http://127.0.0.1:6443') => {
  const kc = kcFor(server);
  return { kc, clients: { kc } as KubeClients };
};

describe('openRecoverySite', () => {
  it('defaults to the live namespace; a sandbox is another namespace of the same cluster', () => {
    expect(openRecoverySite(core, { namespace: 'databases' }, live())).toMatchObject({
      sameNamespace: true,
      remote: false,
      namespace: 'databases',
    });
    expect(
      openRecoverySite(core, { namespace: 'databases', recoveryNamespace: 'drill-sandbox' }, live()),
    ).toMatchObject({
      sameNamespace: false,
      remote: false,
      namespace: 'drill-sandbox',
      where: 'namespace drill-sandbox of the live Kubernetes cluster http://127.0.0.1:6443',
    });
  });

  it('refuses the live namespace as the sandbox', () => {
    expect(() => openRecoverySite(core, { namespace: 'databases', recoveryNamespace: 'databases' }, live())).toThrow(
      "Input 'recovery-namespace': 'databases' on http://127.0.0.1:6443 is the live cluster's own namespace",
    );
  });

  it('another cluster keeps the live namespace name unless told otherwise; an unknown context is an input error', () => {
    const site = openRecoverySite(
      core,
      { namespace: 'databases', recoveryKubeconfig: kubeconfigYaml('http://10.0.0.9:6443') },
      live(),
      (kc) => ({ kc }) as KubeClients,
    );
    expect(site).toMatchObject({
      remote: true,
      sameNamespace: false,
      namespace: 'databases',
      server: 'http://10.0.0.9:6443',
    });
    site.dispose();
    expect(() =>
      openRecoverySite(
        core,
        { namespace: 'databases', recoveryKubeconfig: kubeconfigYaml('http://10.0.0.9:6443'), recoveryContext: 'dr' },
        live(),
      ),
    ).toThrow("Input 'recovery-context': no context 'dr' in the recovery-kubeconfig; contexts: playground.");
  });

  it('the permissions checked are what the sandbox Role grants', () => {
    const plugin = siteAccess({ plugin: true, portForward: true, recordHistory: true });
    expect(plugin.find((a) => a.resource === 'objectstores')?.verbs).toEqual(['get', 'list', 'create', 'delete']);
    expect(
      siteAccess({ plugin: false, portForward: false, recordHistory: false }).map((a) => a.subresource ?? a.resource),
    ).not.toContain('portforward');
  });
});

describe('copies', () => {
  const store = {
    destinationPath: 's3://backups/pg-main',
    endpointCA: { name: 'minio-ca', key: 'ca.crt' },
    s3Credentials: {
      accessKeyId: { name: 'backup-creds', key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: 'backup-creds', key: 'ACCESS_SECRET_KEY' },
    },
    wal: { compression: 'gzip' },
  };

  it('finds every Secret key the object store references, once per Secret', () => {
    expect(secretRefs(store).map((r) => `${r.name}/${r.key}`)).toEqual([
      'minio-ca/ca.crt',
      'backup-creds/ACCESS_KEY_ID',
      'backup-creds/ACCESS_SECRET_KEY',
    ]);
    const plan = planCopies(store);
    expect(plan.secrets.map((s) => [s.name, [...s.keys]])).toEqual([
      ['minio-ca', ['ca.crt']],
      ['backup-creds', ['ACCESS_KEY_ID', 'ACCESS_SECRET_KEY']],
    ]);
    expect(
      secretRefs({ azureCredentials: { connectionString: { name: 'az', key: 'AZURE_CONNECTION_STRING' } } }),
    ).toEqual([{ name: 'az', key: 'AZURE_CONNECTION_STRING' }]);
  });

  it('points the recovery manifest at the copies in the sandbox', () => {
    const name = 'pg-main-drill-9001-1';
    const inTree = {
      metadata: { name, namespace: 'databases' },
      spec: { externalClusters: [{ name: 'pg-main', barmanObjectStore: structuredClone(store) }] },
    } as unknown as Cluster;
    retargetManifest(inTree, 'drill-sandbox', planCopies(store));
    expect(inTree.metadata.namespace).toBe('drill-sandbox');
    expect(inTree.spec.externalClusters![0].barmanObjectStore!.s3Credentials!.accessKeyId!.name).toBe(
      `${name}-backup-creds`,
    );
    expect(inTree.spec.externalClusters![0].barmanObjectStore!.endpointCA!.name).toBe(`${name}-minio-ca`);
    const os = { metadata: { name: 'pg-main-store' }, spec: { configuration: store } } as unknown as ObjectStore;
    const plugin = {
      metadata: { name },
      spec: {
        externalClusters: [
          {
            name: 'pg-main',
            plugin: { name: 'barman-cloud.cloudnative-pg.io', parameters: { barmanObjectName: 'pg-main-store' } },
          },
        ],
      },
    } as unknown as Cluster;
    retargetManifest(plugin, 'drill-sandbox', planCopies(store, os));
    expect(plugin.spec.externalClusters![0].plugin!.parameters!.barmanObjectName).toBe(`${name}-pg-main-store`);
    expect(copyName('x'.repeat(250), 'creds').length).toBeLessThanOrEqual(253);
  });
});

describe('connection-mode direct with a recovery site in another cluster', () => {
  it("port-forwards the restore: <recovery>-rw.<ns>.svc of another cluster does not resolve from the runner's network", () => {
    expect(restoreConnectionMode('direct', { remote: true })).toBe('port-forward');
    expect(restoreConnectionMode('direct', { remote: false })).toBe('direct');
    expect(restoreConnectionMode('port-forward', { remote: false })).toBe('port-forward');
  });
});
