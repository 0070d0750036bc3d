// barman-cloud through one warm interpreter (barman_fork.py says why and how): a command line starts
// with the client, which hands the call to the server, or execs the tool itself when none answers.
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresEnv, type ProcessGroup } from './proc.js';
import { ensurePostgresDir, writePostgresFile } from './postgres.js';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'barman_fork.py');
/** sun_path holds 108 bytes (UTF-8, with its NUL); a longer socket path keeps the direct commands. */
const MAX_SOCKET_PATH = 100;

/** The interpreter barman-cloud's own scripts run with (their #! line), found on PostgreSQL's PATH. */
function barmanPython(): string | undefined {
  for (const d of postgresEnv().PATH.split(delimiter)) {
    try {
      const first = readFileSync(join(d, 'barman-cloud-wal-archive'), 'utf8').split('\n')[0];
      return first.startsWith('#!') ? first.slice(2).trim().split(/\s+/)[0] : undefined;
    } catch {
      /* not in this directory */
    }
  }
  return undefined;
}

/**
 * Starts the server in `parent`/barman (the user PostgreSQL runs as owns it: the server runs as that user and
 * binds its socket there); returns the launch prefix (and the server's pid), or no prefix when barman-cloud is not installed (the commands
 * then say so themselves) or the path is too long for a socket. A server that does not start is an error.
 */
export async function startWarmBarman(
  procs: ProcessGroup,
  parent: string,
): Promise<{ launch: string[]; pid?: number }> {
  const python = barmanPython();
  const dir = join(parent, 'barman');
  const socket = join(dir, 'barman.sock');
  if (!python || Buffer.byteLength(socket) > MAX_SOCKET_PATH) return { launch: [] };
  ensurePostgresDir(dir);
  const script = join(dir, 'barman_fork.py');
  writePostgresFile(script, readFileSync(SOURCE, 'utf8'));
  const child = procs.spawn(python, [script, 'serve', socket], { cwd: dir });
  let err = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    const settle = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) settle(true);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', () => settle(false));
  });
  if (ready) return { launch: [python, '-I', '-S', script, 'client', socket], pid: child.pid };
  child.kill('SIGKILL');
  throw new Error(
    `the warm barman-cloud server (${script}) did not start: ${err.trim() || 'no output in 30 s'}. ` +
      `barman-cloud and boto3 must import in ${python} (.ci/setup.sh installs barman-cli-cloud and python3-boto3).`,
  );
}
