// What the recovery Cluster must carry from the live one (CONFORMANCE.md sections 7 and 8):
// the exact list of tablespaces (docs/src/tablespaces.md), storage as declared (a storage class
// may live in pvcTemplate; walStorage may be sized only there), what the pods need to pull the
// image and reach the archive (imagePullSecrets, serviceAccountName/Template for IRSA, env,
// UIDs); what cannot be honoured is refused before anything is created. And the secret the
// product reads is the one upstream uses for the spec (GetSuperuserSecretName /
// GetApplicationSecretName in api/v1/cluster_funcs.go).
import { describe, expect, it } from 'vitest';
import { detectBackupMode, LiveSpecError, readLiveSpec } from '../../actions/lib/drill/live-spec.js';
import { recoveryClusterManifest } from '../../actions/lib/drill/recovery-manifest.js';
import {
  applicationSecretName,
  defaultSecretName,
  superuserSecretName,
} from '../../actions/lib/postgres/cluster-connection.js';
import type { Cluster, ClusterSpec } from '../../actions/lib/cnpg/types.js';

const live = (spec: Partial<ClusterSpec>): Cluster => ({
  apiVersion: 'postgresql.cnpg.io/v1',
  kind: 'Cluster',
  metadata: { name: 'orders-db', namespace: 'shop' },
  spec: {
    instances: 3,
    backup: {
      barmanObjectStore: { destinationPath: 's3://backups/orders', s3Credentials: { inheritFromIAMRole: true } },
    },
    storage: { size: '10Gi' },
    ...spec,
  },
  status: { image: 'ghcr.io/cloudnative-pg/postgresql:16.4' },
});
const manifest = (c: Cluster, storageClass?: string) =>
  recoveryClusterManifest(readLiveSpec(c, detectBackupMode(c)), {
    name: 'orders-db-drill-1-1',
    runId: '1',
    createdAt: new Date(0),
    storageClass,
  });

describe('the recovery carries what recovery depends on', () => {
  it('declares the exact list of tablespaces, on the drill storage class when given', () => {
    const tablespaces = [
      { name: 'archive_2024', storage: { size: '50Gi', storageClass: 'cold-hdd' }, owner: { name: 'orders' } },
      { name: 'scratch', storage: { size: '5Gi' }, temporary: true },
    ];
    const m = manifest(live({ tablespaces }));
    expect(m.spec.tablespaces).toEqual(tablespaces);
    expect(manifest(live({ tablespaces }), 'drill-ssd').spec.tablespaces?.map((t) => t.storage.storageClass)).toEqual([
      'drill-ssd',
      'drill-ssd',
    ]);
  });

  it('keeps a storage class and size that live only in pvcTemplate, for data and WAL', () => {
    const pvcTemplate = {
      storageClassName: 'gp3-encrypted',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '20Gi' } },
    };
    const m = manifest(
      live({
        storage: { pvcTemplate },
        walStorage: { pvcTemplate: { ...pvcTemplate, resources: { requests: { storage: '4Gi' } } } },
      }),
    );
    expect(m.spec.storage).toMatchObject({ size: '20Gi', pvcTemplate });
    expect(m.spec.walStorage?.pvcTemplate).toMatchObject({
      storageClassName: 'gp3-encrypted',
      resources: { requests: { storage: '4Gi' } },
    });
  });

  it('gives the pods what they need to pull the image and reach the archive (IRSA, private registry, proxy)', () => {
    const pod = {
      serviceAccountName: 'orders-db-irsa',
      imagePullSecrets: [{ name: 'registry-creds' }],
      env: [{ name: 'HTTPS_PROXY', value: 'http://proxy.internal:3128' }],
      postgresUID: 1001,
      postgresGID: 1001,
    };
    expect(manifest(live(pod)).spec).toMatchObject(pod);
  });

  it('refuses, before anything is created, what it cannot size', () => {
    const c = live({
      walStorage: { storageClass: 'fast' },
      tablespaces: [{ name: 'idx', storage: { storageClass: 'fast' } }],
    });
    try {
      readLiveSpec(c, detectBackupMode(c));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LiveSpecError);
      expect((err as LiveSpecError).problems).toEqual([
        expect.stringMatching(/^spec.walStorage has no size/),
        expect.stringMatching(
          /^spec.tablespaces\[0\] \(idx\) has no storage size: the recovery must declare every tablespace/,
        ),
      ]);
    }
  });

  it('names the application database as upstream does (recovery, then pg_basebackup, then initdb)', () => {
    const c = live({ bootstrap: { recovery: { source: 'old', database: 'orders', owner: 'orders_owner' } } });
    expect(readLiveSpec(c, detectBackupMode(c))).toMatchObject({ database: 'orders', owner: 'orders_owner' });
  });
});

describe('the secret the product reads is the one upstream uses', () => {
  it('superuser: spec.superuserSecret.name when set', () => {
    expect(superuserSecretName(live({ superuserSecret: { name: 'pg-root-from-vault' } }))).toBe('pg-root-from-vault');
    expect(
      defaultSecretName(live({ enableSuperuserAccess: true, superuserSecret: { name: 'pg-root-from-vault' } })),
    ).toBe('pg-root-from-vault');
    expect(defaultSecretName(live({ enableSuperuserAccess: true }))).toBe('orders-db-superuser');
  });
  it('application owner: the bootstrap secret when set, else <cluster>-app', () => {
    expect(
      applicationSecretName(
        live({
          bootstrap: { initdb: { database: 'orders', owner: 'orders', secret: { name: 'orders-owner-creds' } } },
        }),
      ),
    ).toBe('orders-owner-creds');
    expect(
      applicationSecretName(live({ bootstrap: { recovery: { source: 'x', secret: { name: 'restored-owner' } } } })),
    ).toBe('restored-owner');
    expect(defaultSecretName(live({ bootstrap: { initdb: { secret: { name: 'orders-owner-creds' } } } }))).toBe(
      'orders-owner-creds',
    );
    expect(defaultSecretName(live({}))).toBe('orders-db-app');
  });
});
