// Operator emulator: initdb clusters, their objects, a real connection, replicas, deletion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { CLUSTER, appQuery, cluster, startEnv, waitFor, waitHealthy, type TestEnv } from './cnpg/test-env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('initdb cluster', () => {
  it('becomes Ready with secrets, services, PVC and pod, and accepts the -app credentials', async () => {
    const t0 = Date.now();
    env.store.create(CLUSTER, cluster('alpha'));
    const c = await waitHealthy(env, 'alpha', 60_000);
    console.log(`initdb cluster Ready in ${Date.now() - t0} ms`);
    expect(c.status.currentPrimary).toBe('alpha-1');
    expect(c.status.instanceNames).toEqual(['alpha-1']);
    expect(c.status.image).toBe('ghcr.io/cloudnative-pg/postgresql:15');
    expect(c.status.timelineID).toBe(1);
    expect(c.status.systemID).toMatch(/^\d+$/);
    const app = env.store.get('v1/secrets', 'default', 'alpha-app')!;
    expect(app.type).toBe('kubernetes.io/basic-auth');
    expect(Object.keys(app.data).sort()).toEqual([
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
    expect(app.metadata.labels).toMatchObject({
      'cnpg.io/cluster': 'alpha',
      'cnpg.io/userType': 'app',
      'cnpg.io/reload': 'true',
    });
    expect(env.store.get('v1/secrets', 'default', 'alpha-superuser')).toBeUndefined();
    for (const s of ['rw', 'ro', 'r']) expect(env.store.get('v1/services', 'default', `alpha-${s}`)).toBeDefined();
    const pvc = env.store.get('v1/persistentvolumeclaims', 'default', 'alpha-1')!;
    expect(pvc.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Cluster', name: 'alpha', controller: true });
    const pod = env.store.get('v1/pods', 'default', 'alpha-1')!;
    expect(pod.metadata.labels).toMatchObject({
      'cnpg.io/cluster': 'alpha',
      'cnpg.io/instanceRole': 'primary',
      'cnpg.io/podRole': 'instance',
      role: 'primary',
    });
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'postgres', ready: true });
    // The node pulled the image for the initdb Job's pod; the instance pod found it there (images.ts).
    const events = env.store.list('v1/events', 'default').items;
    const has = (pod: RegExp, reason: string, message: RegExp) =>
      events.some((e) => pod.test(e.involvedObject.name) && e.reason === reason && message.test(e.message));
    expect(has(/^alpha-1-initdb-/, 'Pulling', /^Pulling image "ghcr.io\/cloudnative-pg\/postgresql:15"$/)).toBe(true);
    expect(has(/^alpha-1-initdb-/, 'Pulled', /^Successfully pulled image /)).toBe(true);
    expect(has(/^alpha-1$/, 'Pulled', /already present on machine$/)).toBe(true);
    const rows = await appQuery(env, 'alpha', 'SELECT current_user AS u, current_database() AS d');
    expect(rows[0]).toEqual({ u: 'app', d: 'app' });
    // CNPG deletes the completed bootstrap Job once the instance reports (cluster_cleanup.go).
    await waitFor('initdb Job cleaned up', () => !env.store.get('batch/v1/jobs', 'default', 'alpha-1-initdb'), 20_000);
  });

  it('a killed postgres makes the cluster unhealthy, then the instance comes back', async () => {
    env.settings.crashRestartDelayMs = 1500;
    const pv = env.store.get(
      'v1/persistentvolumes',
      undefined,
      env.store.get('v1/persistentvolumeclaims', 'default', 'alpha-1')!.spec.volumeName,
    )!;
    const pidFile = `${pv.spec.hostPath.path}/pgdata/postmaster.pid`;
    const { readFileSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    const down = await waitFor(
      'unhealthy',
      () => {
        const c = env.store.get(CLUSTER, 'default', 'alpha');
        return c?.status.readyInstances === 0 ? c : undefined;
      },
      10_000,
    );
    expect(down.status.phase).toBe('Waiting for the instances to become active');
    expect(down.status.conditions.find((x: any) => x.type === 'Ready').status).toBe('False');
    // While it is down nothing listens behind -rw: a connection through the Service is refused.
    expect(env.api.network.resolveService('default', 'alpha-rw', 5432)).toBeUndefined();
    await waitHealthy(env, 'alpha', 60_000);
    const pod = env.store.get('v1/pods', 'default', 'alpha-1')!;
    expect(pod.status.containerStatuses[0].restartCount).toBe(1);
  });

  it('runs streaming replicas and a superuser secret', async () => {
    env.store.create(
      CLUSTER,
      cluster('beta', {
        instances: 2,
        enableSuperuserAccess: true,
        postgresql: { parameters: { max_connections: '50' } },
      }),
    );
    await waitFor(
      'replica phase',
      () => env.store.get(CLUSTER, 'default', 'beta')?.status?.phase === 'Creating a new replica',
      30_000,
      50,
    );
    const c = await waitHealthy(env, 'beta', 120_000);
    expect(c.status.instanceNames).toEqual(['beta-1', 'beta-2']);
    expect(env.store.get('v1/pods', 'default', 'beta-2')!.metadata.labels!['cnpg.io/instanceRole']).toBe('replica');
    // The Services route by CNPG's role labels, once the endpoints delay has passed.
    const routed = (svc: string) => env.api.network.resolveService('default', svc, 5432)?.pod;
    await waitFor('-rw and -ro routed', () => routed('beta-rw') === 'beta-1' && routed('beta-ro') === 'beta-2', 10_000);
    expect(env.store.get('v1/secrets', 'default', 'beta-superuser')).toBeDefined();
    const rows = await appQuery(
      env,
      'beta',
      "SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'",
    );
    expect(rows[0].n).toBe(0); // the app user cannot see other sessions' details; check as superuser below
    const { default: pg } = await import('pg');
    const su = env.store.get('v1/secrets', 'default', 'beta-superuser')!;
    const ep = env.api.network.resolve('default', 'beta-1', 5432)!;
    const client = new pg.Client({
      ...ep,
      user: 'postgres',
      password: Buffer.from(su.data.password, 'base64').toString(),
      database: 'postgres',
    });
    await client.connect();
    const r = await client.query('SELECT application_name, state FROM pg_stat_replication');
    const mc = await client.query('SHOW max_connections');
    await client.end();
    expect(r.rows).toEqual([{ application_name: 'beta-2', state: 'streaming' }]);
    expect(mc.rows[0].max_connections).toBe('50');
  });

  it('deleting a cluster stops postgres and the PVC, PV and directory go', async () => {
    const pvName = env.store.get('v1/persistentvolumeclaims', 'default', 'beta-1')!.spec.volumeName;
    const path = env.store.get('v1/persistentvolumes', undefined, pvName)!.spec.hostPath.path;
    expect(existsSync(path)).toBe(true);
    env.store.delete(CLUSTER, 'default', 'beta');
    await waitFor(
      'pvcs gone',
      () =>
        env.store.list('v1/persistentvolumeclaims', 'default', { labelSelector: 'cnpg.io/cluster=beta' }).items
          .length === 0,
      30_000,
    );
    await waitFor('pv gone', () => !env.store.get('v1/persistentvolumes', undefined, pvName), 30_000);
    await waitFor('dir gone', () => !existsSync(path), 10_000);
    expect(env.store.get('v1/secrets', 'default', 'beta-app')).toBeUndefined();
  });
});
