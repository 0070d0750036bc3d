// soak-gate-check's cluster-health gate on each bootstrap mechanism (test/playground/CONFORMANCE.md
// 6.v): the oldest supported release and 1.30 (join Jobs) and main+pr11319 (in-pod bootstrap in the
// `bootstrap-instance` init container). A healthy subscriber cluster passes the gate; a replica
// whose bootstrap fails fails it, the gate naming the failing container (the phase alone says
// only 'Creating a new replica' / 'Waiting for the instances to become active').
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTo, ensureNamespace, isHealthy, waitFor, CLUSTERS } from '../helpers/live-cluster.js';
import { runAction, type RunResult } from '../helpers/run-action.js';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { bootstrapMode } from '../playground/cnpg/versions.js';
import { PlainPostgres } from './plain-postgres.js';
import {
  PUBLICATION,
  REPL_PASSWORD,
  REPL_USER,
  setUpPublisher,
  setUpSubscriber,
  SUBSCRIPTION,
  waitCaughtUp,
  type Sql,
} from './pair.js';

const NS = 'soakv';
const CLUSTER = 'subv';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe.each((process.env.SOAK_VERSIONS ?? '1.25.4,1.30.0,main+pr11319').split(','))('operator %s', (version) => {
  const inPod = bootstrapMode(version) === 'in-pod';
  let pgd: PlaygroundHandle;
  let pub: PlainPostgres;
  const subSql: Sql = async (text, params) => {
    const c = await connectTo(pgd, NS, CLUSTER, 'postgres', 'app');
    try {
      return (await c.query(text, params)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    [pgd, pub] = await Promise.all([startPlayground({ operatorVersion: version }), PlainPostgres.start()]);
    ensureNamespace(pgd, NS);
    pgd.store.create(CLUSTERS, {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: CLUSTER, namespace: NS },
      spec: { instances: 1, enableSuperuserAccess: true, storage: { size: '1Gi' } },
    });
    const pubSql = await setUpPublisher(pub);
    await waitFor('subscriber healthy', () => isHealthy(pgd.store.get(CLUSTERS, NS, CLUSTER)), 120_000);
    await setUpSubscriber(subSql, pub, 'app');
    await waitCaughtUp(pubSql, subSql);
    pgd.store.create('v1/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'publisher-conn', namespace: NS },
      type: 'Opaque',
      data: {
        host: b64('127.0.0.1'),
        port: b64(String(pub.port)),
        username: b64(REPL_USER),
        password: b64(REPL_PASSWORD),
        dbname: b64('app'),
        sslmode: b64('disable'),
      },
    });
  });
  afterAll(async () => {
    await Promise.all([pgd?.stop(), pub?.stop()]);
  });

  async function healthGate(): Promise<{ passed: boolean; text: string; r: RunResult }> {
    const r = await runAction('soak-gate-check', 'main', {
      inputs: {
        cluster: CLUSTER,
        namespace: NS,
        subscription: SUBSCRIPTION,
        'publisher-secret': 'publisher-conn',
        publication: PUBLICATION,
        'soak-hours': '72',
        'statement-timeout': '5s',
        'fail-on-block': 'false',
      },
      env: { KUBECONFIG: pgd.kubeconfigPath },
      timeoutMs: 120_000,
    });
    const m = /^(pass|FAIL) cluster-health: (.*)$/m.exec(r.stdout);
    if (!m)
      throw new Error(`no cluster-health gate in the output:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    return { passed: m[1] === 'pass', text: m[2], r };
  }

  it('a healthy subscriber cluster passes cluster-health', async () => {
    const g = await healthGate();
    expect(g.passed, g.text).toBe(true);
  });

  it('a replica whose bootstrap fails fails cluster-health, naming the failing container', async () => {
    pgd.operator.settings.failBootstrap = {
      cluster: new RegExp(`^${CLUSTER}$`),
      role: 'join',
      message: 'pg_basebackup: error: could not connect to server: injected',
    };
    try {
      pgd.store.mutate(CLUSTERS, NS, CLUSTER, (c) => {
        c.spec.instances = 2;
      });
      const failing = inPod
        ? () =>
            pgd.store
              .get('v1/pods', NS, `${CLUSTER}-2`)
              ?.status?.initContainerStatuses?.some(
                (c: {
                  name: string;
                  state?: { terminated?: { exitCode: number } };
                  lastState?: { terminated?: unknown };
                }) => c.name === 'bootstrap-instance' && (c.state?.terminated?.exitCode || c.lastState?.terminated),
              )
        : () =>
            pgd.store
              .list('v1/pods', NS, { labelSelector: `job-name=${CLUSTER}-2-join` })
              .items.some((p) => p.status?.phase === 'Failed');
      await waitFor('first failed join attempt', failing, 60_000);
      const g = await healthGate();
      expect(g.passed).toBe(false);
      expect(g.text).toMatch(
        inPod
          ? /bootstrap init container of pod subv-2 \(container bootstrap-instance\) (exited with code 1|is crash-looping|restarted after)/
          : /join job subv-2-join failed: pod subv-2-join-\w+ \(container join\) exited with code 1/,
      );
      console.log(`operator ${version}: cluster-health: ${g.text.slice(0, 300)}`);
    } finally {
      pgd.operator.settings.failBootstrap = undefined;
    }
  });
});
