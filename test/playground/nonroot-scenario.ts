// A small playground scenario run by test/playground/nonroot.test.ts as an unprivileged user: the
// playground up, an initdb Cluster Ready with PostgreSQL running as that user, a query through the pod
// network, a base backup by barman-cloud into S3, everything stopped. Prints one JSON line.
import pg from 'pg';
import { S3_SECRET, startPlayground } from './playground.js';
import { waitFor } from '../helpers/wait.js';
import { isHealthy } from './cnpg/test-env.js';
import type { KubeObject } from './types.js';

const CLUSTERS = 'postgresql.cnpg.io/v1/clusters';
const BACKUPS = 'postgresql.cnpg.io/v1/backups';

const playground = await startPlayground();
try {
  const s3 = playground.s3;
  const ref = (key: string) => ({ name: S3_SECRET, key });
  const barmanObjectStore = {
    destinationPath: `s3://${s3.bucket}/nonroot`,
    endpointURL: s3.endpoint,
    s3Credentials: { accessKeyId: ref('ACCESS_KEY_ID'), secretAccessKey: ref('ACCESS_SECRET_KEY') },
  };
  const meta = (name: string) => ({ name, namespace: 'default' });
  playground.store.create(CLUSTERS, {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: meta('solo'),
    spec: { instances: 1, storage: { size: '1Gi' }, backup: { barmanObjectStore } },
  });
  const get = (kind: string, name: string) => playground.store.get(kind, 'default', name) as KubeObject | undefined;
  await waitFor('cluster solo healthy', () => isHealthy(get(CLUSTERS, 'solo')), 120_000);
  const secret = get('v1/secrets', 'solo-app')!;
  const field = (k: string) => Buffer.from(secret.data[k], 'base64').toString();
  const ep = playground.network.resolve('default', 'solo-1', 5432)!;
  const client = new pg.Client({ ...ep, user: field('username'), password: field('password'), database: 'app' });
  await client.connect();
  const { rows } = await client.query('SELECT current_user, (SELECT usename FROM pg_user WHERE usesysid = 10) AS su');
  await client.end();
  playground.store.create(BACKUPS, {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Backup',
    metadata: meta('solo-b1'),
    spec: { cluster: { name: 'solo' } },
  });
  const done = await waitFor(
    'backup solo-b1 done',
    () => ['completed', 'failed'].includes(get(BACKUPS, 'solo-b1')?.status?.phase) && get(BACKUPS, 'solo-b1'),
    120_000,
  );
  console.log(JSON.stringify({ uid: process.getuid?.(), row: rows[0], backup: done && done.status }));
} finally {
  await playground.stop();
}
