// Finds the PostgreSQL server binaries the OS packages installed, whatever the major (Debian
// bookworm ships 15, ubuntu-latest 16), and maps the image a Cluster asks for onto them.
// Order: PG_BIN (explicit override), `pg_config --bindir`, then the packaged layouts
// (/usr/lib/postgresql/<major>/bin on Debian/Ubuntu, /usr/pgsql-<major>/bin on RHEL), newest first.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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
      'No PostgreSQL server found (PG_BIN, pg_config --bindir, /usr/lib/postgresql/*/bin): run `bash scripts/setup.sh` or set PG_BIN.',
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

/** Maps a Cluster's imageName onto the installed server, saying so when the majors differ. */
export function mapImage(image: string | undefined, installed: PostgresInstall = postgresInstall()): ImageMapping {
  const requestedMajor = imageMajor(image);
  const runs = `the installed PostgreSQL ${installed.version} (${installed.bin})`;
  let message: string | undefined;
  if (image && requestedMajor === undefined)
    message = `image ${image} names no PostgreSQL major in its tag; running ${runs}`;
  else if (requestedMajor !== undefined && requestedMajor !== installed.major)
    message = `image ${image} asks for PostgreSQL ${requestedMajor}; running ${runs} instead`;
  return { image, requestedMajor, installed, message };
}
