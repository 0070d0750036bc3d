// The playground and tests run whatever PostgreSQL major the OS packages installed: discovery
// with the real installation, and with a fake layout of another major (a temp dir tree).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  discoverPostgres,
  imageMajor,
  installForMajor,
  listInstalled,
  mapImage,
  missingMajor,
  postgresInstall,
  serverVersion,
} from '../helpers/postgres-install.js';

describe('the installed PostgreSQL', () => {
  it('is found without naming a major, and its postgres reports the major found', () => {
    const pg = postgresInstall();
    expect(pg.major).toBeGreaterThanOrEqual(14);
    expect(serverVersion(pg.bin)?.major).toBe(pg.major);
    // The packaged layout agrees with pg_config (Debian/Ubuntu ship /usr/lib/postgresql/<major>/bin).
    expect(listInstalled().map((i) => i.major)).toContain(pg.major);
  });

  it('maps an image of the installed major silently, a major not installed with a message naming what it needs', () => {
    const pg = postgresInstall();
    expect(mapImage(`ghcr.io/cloudnative-pg/postgresql:${pg.major}.4`).message).toBeUndefined();
    const missing = [14, 16, 17].find((m) => !installForMajor(m))!;
    const m = mapImage(`ghcr.io/cloudnative-pg/postgresql:${missing}.2-standard-bookworm`);
    expect(m.requestedMajor).toBe(missing);
    expect(m.message).toMatch(
      new RegExp(
        `^image ghcr\\.io/cloudnative-pg/postgresql:${missing}\\.2-standard-bookworm asks for PostgreSQL ${missing}: PostgreSQL ${missing} is not installed here \\(installed: [\\d, ]+; .ci/setup\\.sh adds 13 and 18 under \\S+, or set PG_BIN to a ${missing} server\\); running the installed PostgreSQL ${pg.version.replace('.', '\\.')} \\(${pg.bin}\\) instead$`,
      ),
    );
  });

  it('maps 13 and 18 onto their own servers once .ci/setup.sh unpacked them', () => {
    for (const major of [13, 18]) {
      const own = installForMajor(major);
      expect(own, missingMajor(major)).toBeDefined();
      const m = mapImage(`ghcr.io/cloudnative-pg/postgresql:${major}.4-standard-bookworm`);
      expect([m.installed.major, m.installed.bin, m.message]).toEqual([major, own!.bin, undefined]);
      expect(serverVersion(own!.bin)?.major).toBe(major);
    }
  });
});

describe('a fake layout of other majors', () => {
  const root = mkdtempSync(join(tmpdir(), 'pg-layout-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const fakeServer = (dir: string, version: string) => {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    const exe = join(dir, 'bin', 'postgres');
    writeFileSync(exe, `#!/bin/sh\necho "postgres (PostgreSQL) ${version} (Debian ${version}-1.pgdg120+1)"\n`);
    chmodSync(exe, 0o755);
  };
  fakeServer(join(root, 'lib/postgresql/14'), '14.13');
  fakeServer(join(root, 'lib/postgresql/17'), '17.2');
  mkdirSync(join(root, 'lib/postgresql/18/bin'), { recursive: true }); // client-only package: no server
  fakeServer(join(root, 'pgsql-16'), '16.6'); // the RHEL layout

  it('picks the newest server major, skipping a bin dir without postgres', () => {
    const roots = [join(root, 'lib/postgresql'), root];
    expect(listInstalled(roots).map((i) => [i.major, i.version])).toEqual([
      [17, '17.2'],
      [16, '16.6'],
      [14, '14.13'],
    ]);
    expect(discoverPostgres({ roots, pgConfig: false, env: {} })).toEqual({
      bin: join(root, 'lib/postgresql/17/bin'),
      major: 17,
      version: '17.2',
      source: 'layout',
    });
  });

  it('honours PG_BIN over everything, and refuses a PG_BIN without a server', () => {
    const bin = join(root, 'lib/postgresql/14/bin');
    expect(discoverPostgres({ env: { PG_BIN: bin } })).toMatchObject({ bin, major: 14, source: 'PG_BIN' });
    expect(() => discoverPostgres({ env: { PG_BIN: join(root, 'lib/postgresql/18/bin') } })).toThrow(
      /PG_BIN=.*18\/bin holds no runnable postgres/,
    );
  });

  it('uses pg_config --bindir when it answers', () => {
    const pgConfig = join(root, 'pg_config');
    writeFileSync(pgConfig, `#!/bin/sh\necho ${join(root, 'lib/postgresql/14/bin')}\n`);
    chmodSync(pgConfig, 0o755);
    expect(discoverPostgres({ env: {}, pgConfig, roots: [] })).toMatchObject({ major: 14, source: 'pg_config' });
  });

  it('maps images onto the fake 14 and says so', () => {
    const installed = discoverPostgres({ env: { PG_BIN: join(root, 'lib/postgresql/14/bin') } })!;
    expect(mapImage('ghcr.io/cloudnative-pg/postgresql:14.13', installed).message).toBeUndefined();
    expect(mapImage('ghcr.io/cloudnative-pg/postgresql:16.4', installed).message).toMatch(
      /asks for PostgreSQL 16: .*; running the installed PostgreSQL 14.13/,
    );
    expect(mapImage('registry.local:5000/postgres@sha256:abc', installed).message).toMatch(/names no PostgreSQL major/);
    expect(mapImage(undefined, installed).message).toBeUndefined();
  });
});

describe('imageMajor', () => {
  it.each([
    ['ghcr.io/cloudnative-pg/postgresql:16.4', 16],
    ['ghcr.io/cloudnative-pg/postgresql:17.2-standard-bookworm', 17],
    ['ghcr.io/cloudnative-pg/postgresql:15', 15],
    ['ghcr.io/cloudnative-pg/postgresql:14.13-1@sha256:0123', 14],
    ['registry.local:5000/postgresql', undefined],
    ['ghcr.io/cloudnative-pg/postgresql:latest', undefined],
  ])('%s -> %s', (image, major) => expect(imageMajor(image)).toBe(major));
});
