// A Cluster runs the PostgreSQL major its image tag names when it is installed (the distribution's,
// and 13 and 18 from .ci/setup.sh); an image of a major not installed runs on the default one,
// and the operator emulator says so and what it needs (an event on the Cluster, a line in the
// instance's log), as test/helpers/postgres-install.ts maps it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { installForMajor, missingMajor, postgresInstall } from '../helpers/postgres-install.js';
import { CLUSTER, appQuery, cluster, startEnv, waitHealthy, type TestEnv } from './cnpg/test-env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

const events = (name: string) =>
  env.store
    .list('v1/events', 'default')
    .items.filter(
      (e) =>
        e.involvedObject?.kind === 'Cluster' && e.involvedObject?.name === name && e.reason === 'PostgresMajorMapped',
    );

it('an image of a major not installed runs on the default server, with an event and a log line saying what it needs', async () => {
  const pg = postgresInstall();
  const other = [14, 16, 17].find((m) => !installForMajor(m))!;
  const image = `ghcr.io/cloudnative-pg/postgresql:${other}.4-standard-bookworm`;
  env.store.create(CLUSTER, cluster('other-major', { imageName: image }));
  await waitHealthy(env, 'other-major', 90_000);
  const [{ v }] = await appQuery(env, 'other-major', "SELECT current_setting('server_version_num')::int / 10000 AS v");
  expect(v).toBe(pg.major);
  const message = `image ${image} asks for PostgreSQL ${other}: ${missingMajor(other)}; running the installed PostgreSQL ${pg.version} (${pg.bin}) instead`;
  expect(events('other-major').map((e) => [e.type, e.message])).toEqual([['Normal', message]]);
  expect(env.api.logs.read('default', 'other-major-1', 'postgres')).toContain(`operator: ${message}`);
});

it.each([13, 18])('an image of PostgreSQL %i runs a real server of that major, saying nothing', async (major) => {
  const name = `pg${major}`;
  env.store.create(CLUSTER, cluster(name, { imageName: `ghcr.io/cloudnative-pg/postgresql:${major}.4-system-trixie` }));
  await waitHealthy(env, name, 90_000);
  const [{ v }] = await appQuery(env, name, "SELECT current_setting('server_version_num')::int / 10000 AS v");
  expect(v).toBe(major);
  expect(events(name)).toEqual([]);
});

it('an image of the installed major says nothing', async () => {
  const pg = postgresInstall();
  env.store.create(CLUSTER, cluster('same-major', { imageName: `ghcr.io/cloudnative-pg/postgresql:${pg.major}.2` }));
  await waitHealthy(env, 'same-major', 90_000);
  expect(events('same-major')).toEqual([]);
});
