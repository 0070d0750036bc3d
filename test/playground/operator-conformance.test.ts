// The CNPG emulator against upstream facts (test/playground/CONFORMANCE.md sections 3, 5, 12):
// owner references as CNPG sets them, completed Jobs cleaned up, transient phases that flip back,
// image catalogs, the labels and annotations of derived objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from './types.js';
import { CLUSTER, cluster, startEnv, waitFor, waitHealthy, type TestEnv } from './cnpg/test-env.js';

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
    expect(refusal(cluster('1st-cluster'))).toContain('metadata.name: Invalid value: "1st-cluster": cluster name must be a valid DNS label');
    const long = 'c'.repeat(51);
    expect(refusal(cluster(long))).toContain(`metadata.name: Invalid value: "${long}": the maximum length of a cluster name is 50 characters`);
  });
});

describe('ownership (pkg/utils/ownership.go, controller-runtime SetControllerReference)', () => {
  it('secrets, services and PVCs are owned without blockOwnerDeletion; pods and Jobs block', async () => {
    env.store.create(CLUSTER, cluster('owned-by-cluster'));
    const c = await waitHealthy(env, 'owned-by-cluster', 90_000);
    const plain = { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'owned-by-cluster', uid: c.metadata.uid, controller: true };
    for (const [gvr, name] of [
      ['v1/secrets', 'owned-by-cluster-app'],
      ['v1/secrets', 'owned-by-cluster-ca'],
      ['v1/services', 'owned-by-cluster-rw'],
      ['v1/persistentvolumeclaims', 'owned-by-cluster-1'],
    ]) {
      expect(get(gvr, name)?.metadata.ownerReferences, `${gvr} ${name}`).toEqual([plain]);
    }
    expect(get('v1/pods', 'owned-by-cluster-1')?.metadata.ownerReferences).toEqual([{ ...plain, blockOwnerDeletion: true }]);
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
      if (ev.type === 'ADDED' && ev.object.metadata.labels?.['job-name'] === 'job-cleanup-1-initdb') pods.push(ev.object.metadata.name);
    });
    await waitHealthy(env, 'job-cleanup', 90_000);
    stop();
    stopPods();
    expect(pods).toHaveLength(1);
    expect(pods[0]).toMatch(/^job-cleanup-1-initdb-[a-z0-9]{5}$/);
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0])[0]).toMatchObject({ kind: 'Cluster', name: 'job-cleanup', controller: true, blockOwnerDeletion: true });
    await waitFor('initdb Job deleted', () => !get('batch/v1/jobs', 'job-cleanup-1-initdb'), 20_000);
    await waitFor('initdb pod deleted', () => !get('v1/pods', pods[0]), 20_000);
    expect(env.api.logs.read('default', pods[0])).toBe('');
    expect(env.store.get(CLUSTER, 'default', 'job-cleanup')!.status.phase).toBe('Cluster in healthy state');
  });
});
