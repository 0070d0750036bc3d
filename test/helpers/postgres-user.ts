// Who runs PostgreSQL and barman-cloud. PostgreSQL refuses to run as root, so as root they run as
// the OS user `postgres` (the distribution's package creates it); any other user runs them as
// itself, so a contributor needs no root and no sudo (test/playground/nonroot.test.ts).
import { execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants } from 'node:fs';
import { homedir, userInfo } from 'node:os';

export interface PostgresUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Whether the process is root and must switch to the user to run PostgreSQL. */
  switches: boolean;
}

let cached: PostgresUser | undefined;

export function postgresUser(): PostgresUser {
  if (cached) return cached;
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    cached = { name: me.username, uid: me.uid, gid: me.gid, home: homedir(), switches: false };
    return cached;
  }
  const id = (flag: string) => execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim();
  let home = '/var/lib/postgresql';
  try {
    home = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).split(':')[5] || home;
  } catch {
    /* getent missing: the Debian package's home */
  }
  cached = { name: 'postgres', uid: Number(id('-u')), gid: Number(id('-g')), home, switches: true };
  return cached;
}

/** Options for child_process.spawn/execFile that run the child as that user (nothing when it is us). */
export function spawnAs(): { uid?: number; gid?: number } {
  const u = postgresUser();
  return u.switches ? { uid: u.uid, gid: u.gid } : {};
}

/** Gives `path` to that user (a no-op when it is us: what we create is already ours). */
export function giveToPostgres(path: string): void {
  const u = postgresUser();
  if (u.switches) chownSync(path, u.uid, u.gid);
}

/** Whether that user can traverse every directory down to `dir`. */
export function postgresCanReach(dir: string): boolean {
  const u = postgresUser();
  if (!u.switches) {
    try {
      accessSync(dir, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  try {
    execFileSync('test', ['-x', dir], { ...spawnAs(), stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
