// The CNPG emulator against upstream facts (test/playground/CONFORMANCE.md sections 3, 5, 12):
// owner references as CNPG sets them, completed Jobs cleaned up, transient phases that flip back,
// image catalogs, the labels and annotations of derived objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ApiError, type KubeObject } from './types.js';
import { CLUSTER, cluster, inTreeStore, startEnv, waitFor, waitHealthy, type TestEnv } from './cnpg/test-env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv({ version: '1.30.0' });
});
afterAll(async () => {
  await env?.stop();
});

const get = (gvr: string, name: string) => env.store.get(gvr, 'default', name);

const refusal = (obj: KubeObject) => {
  try {
    env.store.create(CLUSTER, obj);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${obj.metadata.name} accepted`);
};

describe('Cluster names (internal/webhook/v1/cluster_webhook.go validateName)', () => {
  it('a DNS-1035 label of at most 50 characters', () => {
    expect(refusal(cluster('1st-cluster'))).toContain(
      'metadata.name: Invalid value: "1st-cluster": cluster name must be a valid DNS label',
    );
    const long = 'c'.repeat(51);
    expect(refusal(cluster(long))).toContain(
      `metadata.name: Invalid value: "${long}": the maximum length of a cluster name is 50 characters`,
    );
  });
});

describe('ownership (pkg/utils/ownership.go, controller-runtime SetControllerReference)', () => {
  it('secrets, services and PVCs are owned without blockOwnerDeletion; pods and Jobs block', async () => {
    env.store.create(CLUSTER, cluster('owned-by-cluster'));
    const c = await waitHealthy(env, 'owned-by-cluster', 90_000);
    const plain = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      name: 'owned-by-cluster',
      uid: c.metadata.uid,
      controller: true,
    };
    for (const [gvr, name] of [
      ['v1/secrets', 'owned-by-cluster-app'],
      ['v1/secrets', 'owned-by-cluster-ca'],
      ['v1/services', 'owned-by-cluster-rw'],
      ['v1/persistentvolumeclaims', 'owned-by-cluster-1'],
    ]) {
      expect(get(gvr, name)?.metadata.ownerReferences, `${gvr} ${name}`).toEqual([plain]);
    }
    expect(get('v1/pods', 'owned-by-cluster-1')?.metadata.ownerReferences).toEqual([
      { ...plain, blockOwnerDeletion: true },
    ]);
  });
});

describe('completed Jobs (internal/controller/cluster_cleanup.go cleanupCompletedJobs)', () => {
  it('the bootstrap Job, its pod and so its log are gone once the instances report', async () => {
    env.store.create(CLUSTER, cluster('job-cleanup'));
    const seen: string[] = [];
    const pods: string[] = [];
    const stop = env.store.watch('batch/v1/jobs', 'default', {}, (ev) => {
      if (ev.type === 'ADDED' && ev.object.metadata.name === 'job-cleanup-1-initdb') {
        seen.push(JSON.stringify(ev.object.metadata.ownerReferences));
      }
    });
    const stopPods = env.store.watch('v1/pods', 'default', {}, (ev) => {
      if (ev.type === 'ADDED' && ev.object.metadata.labels?.['job-name'] === 'job-cleanup-1-initdb')
        pods.push(ev.object.metadata.name);
    });
    await waitHealthy(env, 'job-cleanup', 90_000);
    stop();
    stopPods();
    expect(pods).toHaveLength(1);
    expect(pods[0]).toMatch(/^job-cleanup-1-initdb-[a-z0-9]{5}$/);
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0])[0]).toMatchObject({
      kind: 'Cluster',
      name: 'job-cleanup',
      controller: true,
      blockOwnerDeletion: true,
    });
    await waitFor('initdb Job deleted', () => !get('batch/v1/jobs', 'job-cleanup-1-initdb'), 20_000);
    await waitFor('initdb pod deleted', () => !get('v1/pods', pods[0]), 20_000);
    expect(env.api.logs.read('default', pods[0])).toBe('');
    expect(env.store.get(CLUSTER, 'default', 'job-cleanup')!.status.phase).toBe('Cluster in healthy state');
  });
});

describe('derived labels (pkg/specs/pods.go, services.go, jobs.go, persistentvolumeclaim, instance/metadata.go)', () => {
  const app = (instance: string) => ({
    'app.kubernetes.io/name': 'postgresql',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/version': '15',
    'app.kubernetes.io/component': 'database',
    'app.kubernetes.io/managed-by': 'cloudnative-pg',
  });

  it('1.28+: app.kubernetes.io labels; pods get their role labels only once the primary is known', async () => {
    const added: Record<string, string>[] = [];
    const stop = env.store.watch('v1/pods', 'default', {}, (ev) => {
      if (ev.type === 'ADDED' && ev.object.metadata.name === 'labelled-1') added.push({ ...ev.object.metadata.labels });
    });
    env.store.create(CLUSTER, cluster('labelled'));
    await waitHealthy(env, 'labelled', 90_000);
    stop();
    expect(added).toHaveLength(1);
    expect(added[0]).not.toHaveProperty('role');
    expect(added[0]).not.toHaveProperty('cnpg.io/instanceRole');
    const pod = await waitFor(
      'role labels',
      () => {
        const p = get('v1/pods', 'labelled-1');
        return p?.metadata.labels?.['cnpg.io/instanceRole'] === 'primary' ? p : undefined;
      },
      10_000,
    );
    expect(pod.metadata.labels).toEqual({
      'cnpg.io/cluster': 'labelled',
      'cnpg.io/instanceName': 'labelled-1',
      'cnpg.io/podRole': 'instance',
      role: 'primary',
      'cnpg.io/instanceRole': 'primary',
      ...app('labelled'),
    });
    expect(pod.spec.subdomain).toBeUndefined();
    const svc = get('v1/services', 'labelled-rw')!;
    expect(svc.metadata.labels).toEqual({ 'cnpg.io/cluster': 'labelled', ...app('labelled') });
    expect(svc.metadata.annotations).toEqual({ 'cnpg.io/operatorVersion': '1.30.0' });
    const pvc = await waitFor(
      'pvc role label',
      () => {
        const p = get('v1/persistentvolumeclaims', 'labelled-1');
        return p?.metadata.labels?.role === 'primary' ? p : undefined;
      },
      10_000,
    );
    expect(pvc.metadata.labels).toEqual({
      'cnpg.io/cluster': 'labelled',
      'cnpg.io/instanceName': 'labelled-1',
      'cnpg.io/pvcRole': 'PG_DATA',
      role: 'primary',
      'cnpg.io/instanceRole': 'primary',
      'app.kubernetes.io/managed-by': 'cloudnative-pg',
      'app.kubernetes.io/name': 'postgresql',
      'app.kubernetes.io/component': 'database',
    });
  });

  it('1.27 and older: no app.kubernetes.io labels', async () => {
    env.settings.version = '1.27.4';
    try {
      env.store.create(CLUSTER, cluster('older-labels'));
      await waitHealthy(env, 'older-labels', 90_000);
    } finally {
      env.settings.version = '1.30.0';
    }
    expect(Object.keys(get('v1/services', 'older-labels-rw')!.metadata.labels!)).toEqual(['cnpg.io/cluster']);
    expect(
      Object.keys(get('v1/pods', 'older-labels-1')!.metadata.labels!).some((k) => k.startsWith('app.kubernetes.io/')),
    ).toBe(false);
  });

  it('-app secret keys and labels per version (pkg/specs/secrets.go)', async () => {
    const modern = get('v1/secrets', 'labelled-app')!;
    expect(Object.keys(modern.data).sort()).toEqual([
      'dbname',
      'fqdn-jdbc-uri',
      'fqdn-uri',
      'host',
      'jdbc-uri',
      'password',
      'pgpass',
      'port',
      'uri',
      'user',
      'username',
    ]);
    expect(modern.metadata.labels).toEqual({
      'cnpg.io/cluster': 'labelled',
      'cnpg.io/userType': 'app',
      'cnpg.io/reload': 'true',
      'app.kubernetes.io/managed-by': 'cloudnative-pg',
    });
    const plain = ['dbname', 'host', 'jdbc-uri', 'password', 'pgpass', 'port', 'uri', 'user', 'username'];
    const fqdn = [...plain, 'fqdn-jdbc-uri', 'fqdn-uri'].sort();
    // fqdn-* backported to 1.25.3 and 1.26.1 (#7852): absent @v1.25.2 and @v1.26.0 only.
    for (const [version, keys] of [
      ['1.26.3', fqdn],
      ['1.26.1', fqdn],
      ['1.26.0', plain],
      ['1.25.3', fqdn],
      ['1.25.2', plain],
    ] as const) {
      env.settings.version = version;
      const name = `secret-${version.replaceAll('.', '-')}`;
      try {
        env.store.create(CLUSTER, cluster(name));
        const old = await waitFor('-app secret', () => get('v1/secrets', `${name}-app`), 20_000);
        expect(Object.keys(old.data).sort(), version).toEqual(keys);
        expect(old.metadata.labels).toEqual({
          'cnpg.io/cluster': name,
          'cnpg.io/userType': 'app',
          'cnpg.io/reload': 'true',
        });
      } finally {
        env.settings.version = '1.30.0';
      }
    }
  });

  it('disabledDefaultServices drops -ro and -r, never -rw', async () => {
    env.store.create(
      CLUSTER,
      cluster('fewer-services', { managed: { services: { disabledDefaultServices: ['ro', 'r'] } } }),
    );
    await waitFor('-rw service', () => get('v1/services', 'fewer-services-rw'), 20_000);
    expect(get('v1/services', 'fewer-services-ro')).toBeUndefined();
    expect(get('v1/services', 'fewer-services-r')).toBeUndefined();
  });
});

describe('transient phases that flip back (cluster_controller.go, cluster_image.go)', () => {
  const waitPhase = (name: string, phase: string, timeoutMs = 30_000) =>
    waitFor(
      `${name} phase ${phase}`,
      () => {
        const c = env.store.get(CLUSTER, 'default', name);
        return c?.status?.phase === phase ? c : undefined;
      },
      timeoutMs,
    );

  it('an unknown plugin: phase with upstream message, then healthy once the plugin is loaded', async () => {
    env.settings.plugins = ['barman-cloud.cloudnative-pg.io'];
    env.store.create(
      CLUSTER,
      cluster('needs-a-plugin', { plugins: [{ name: 'cnpg-i-hello-world.cloudnative-pg.io' }] }),
    );
    const c = await waitPhase(
      'needs-a-plugin',
      'Cluster cannot proceed to reconciliation due to an unknown plugin being required',
    );
    expect(c.status.phaseReason).toBe(
      "Unknown plugin: 'cnpg-i-hello-world.cloudnative-pg.io'. This may be caused by the plugin not being loaded correctly by the operator. Check the operator and plugin logs for errors",
    );
    expect(get('v1/persistentvolumeclaims', 'needs-a-plugin-1')).toBeUndefined();
    env.settings.plugins = ['barman-cloud.cloudnative-pg.io', 'cnpg-i-hello-world.cloudnative-pg.io'];
    await waitHealthy(env, 'needs-a-plugin', 90_000);
    delete env.settings.plugins;
  });

  it('an image catalog: missing, then without the major, then fixed', async () => {
    const ref = { apiGroup: 'postgresql.cnpg.io', kind: 'ImageCatalog', name: 'postgresql-standard', major: 16 };
    env.store.create(CLUSTER, cluster('from-catalog', { imageCatalogRef: ref }));
    let c = await waitPhase('from-catalog', 'Cluster has incomplete or invalid image catalog');
    expect(c.status.phaseReason).toBe('catalog ImageCatalog/postgresql-standard not found');
    const catalog = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'ImageCatalog',
      metadata: { name: 'postgresql-standard', namespace: 'default' },
      spec: { images: [{ major: 15, image: 'ghcr.io/cloudnative-pg/postgresql:15.10-standard-bookworm' }] },
    };
    env.store.create('postgresql.cnpg.io/v1/imagecatalogs', catalog);
    const missing = await waitFor(
      'major missing',
      () => {
        const x = env.store.get(CLUSTER, 'default', 'from-catalog');
        return x?.status?.phaseReason === 'selected major version is not available in the catalog' ? x : undefined;
      },
      30_000,
    );
    expect(missing.status.phase).toBe('Cluster has incomplete or invalid image catalog');
    env.store.mutate('postgresql.cnpg.io/v1/imagecatalogs', 'default', 'postgresql-standard', (o) => {
      o.spec.images.push({ major: 16, image: 'ghcr.io/cloudnative-pg/postgresql:16.6-standard-bookworm' });
    });
    c = await waitHealthy(env, 'from-catalog', 90_000);
    expect(c.status.image).toBe('ghcr.io/cloudnative-pg/postgresql:16.6-standard-bookworm');
    expect(get('v1/pods', 'from-catalog-1')!.spec.containers[0].image).toBe(
      'ghcr.io/cloudnative-pg/postgresql:16.6-standard-bookworm',
    );
  });

  it('a missing catalog and a bad kind per release: 1.25 event only and capitalised, 1.26 phase', async () => {
    const ref = { apiGroup: 'postgresql.cnpg.io', kind: 'ImageCatalog', name: 'nowhere', major: 16 };
    const events = (name: string) =>
      env.store
        .list('v1/events', 'default')
        .items.filter((e) => e.involvedObject?.name === name)
        .map((e) => e.message);
    const seen: Record<string, { phase?: string; reason?: string; events: string[] }> = {};
    for (const version of ['1.25.4', '1.26.0']) {
      env.settings.version = version;
      const v = version.replaceAll('.', '-');
      try {
        env.store.create(CLUSTER, cluster(`missing-${v}`, { imageCatalogRef: ref }));
        env.store.create(CLUSTER, cluster(`badkind-${v}`, { imageCatalogRef: { ...ref, kind: 'Catalog' } }));
        await waitFor('event', () => events(`missing-${v}`).length > 0 || undefined, 20_000);
        const bad = await waitPhase(`badkind-${v}`, 'Cluster has incomplete or invalid image catalog');
        const missing = env.store.get(CLUSTER, 'default', `missing-${v}`)!;
        seen[version] = {
          phase: missing.status?.phase,
          reason: missing.status?.phaseReason,
          events: events(`missing-${v}`),
        };
        seen[`${version} kind`] = { reason: bad.status.phaseReason, events: [] };
      } finally {
        env.settings.version = '1.30.0';
      }
    }
    expect(seen['1.25.4'].phase).not.toBe('Cluster has incomplete or invalid image catalog');
    expect(seen['1.25.4'].events).toEqual(['Cannot get ImageCatalog/nowhere']);
    expect(seen['1.25.4 kind'].reason).toBe('Invalid image catalog type');
    expect(seen['1.26.0'].phase).toBe('Cluster has incomplete or invalid image catalog');
    expect(seen['1.26.0'].reason).toBe('catalog ImageCatalog/nowhere not found');
    expect(seen['1.26.0'].events).toEqual(['Cannot get ImageCatalog/nowhere']);
    expect(seen['1.26.0 kind'].reason).toBe('invalid image catalog type');
  });

  it('objects that cannot be created: the phase, then healthy once creation works again', async () => {
    let refuse = true;
    env.store.addAdmission('v1/secrets', (op, obj) => {
      if (refuse && op === 'CREATE' && obj.metadata.name === 'quota-bound-app') {
        throw new ApiError(
          403,
          'Forbidden',
          'secrets "quota-bound-app" is forbidden: exceeded quota: secrets-quota, requested: count/secrets=1, used: count/secrets=10, limited: count/secrets=10',
        );
      }
    });
    env.store.create(CLUSTER, cluster('quota-bound'));
    const c = await waitPhase('quota-bound', 'Unable to create required cluster objects');
    expect(c.status.phaseReason).toContain('exceeded quota: secrets-quota');
    refuse = false;
    await waitHealthy(env, 'quota-bound', 90_000);
  });
});

describe('which secrets (api/v1/cluster_funcs.go GetSuperuserSecretName / GetApplicationSecretName)', () => {
  it('spec.superuserSecret is used for postgres and no <cluster>-superuser is made', async () => {
    env.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/basic-auth',
      metadata: { name: 'pg-admin-credentials', namespace: 'default' },
      stringData: { username: 'postgres', password: 'S3cret "quoted" pässword' },
    });
    env.store.create(
      CLUSTER,
      cluster('own-superuser', { enableSuperuserAccess: true, superuserSecret: { name: 'pg-admin-credentials' } }),
    );
    const c = await waitHealthy(env, 'own-superuser', 90_000);
    expect(get('v1/secrets', 'own-superuser-superuser')).toBeUndefined();
    const ep = env.api.network.resolve('default', c.status.currentPrimary, 5432)!;
    const client = new pg.Client({
      host: ep.host,
      port: ep.port,
      user: 'postgres',
      password: 'S3cret "quoted" pässword',
      database: 'app',
    });
    await client.connect();
    try {
      expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');
    } finally {
      await client.end();
    }
  });
});

describe('a recovery cluster whose Job name is over 63 characters (cloudnative-pg#6753)', () => {
  it('the Job create is refused (no Job, no pod); the PVC exists and the Cluster sits in "Setting up primary"', async () => {
    const name = `r${'x'.repeat(47)}`; // 48 characters: the Job is `<name>-1-full-recovery`, 64
    env.store.create(
      CLUSTER,
      cluster(name, {
        bootstrap: { recovery: { source: 'origin' } },
        externalClusters: [{ name: 'origin', barmanObjectStore: inTreeStore(env, 'origin') }],
      }),
    );
    await waitFor('the primary PVC', () => env.store.get('v1/persistentvolumeclaims', 'default', `${name}-1`), 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    const c = env.store.get(CLUSTER, 'default', name)!;
    expect(c.status.phase).toBe('Setting up primary');
    expect(env.store.get('batch/v1/jobs', 'default', `${name}-1-full-recovery`)).toBeUndefined();
    expect(env.store.list('v1/pods', 'default', { labelSelector: `cnpg.io/cluster=${name}` }).items).toEqual([]);
    env.store.delete(CLUSTER, 'default', name);
  });
});
