// The detached playground process `npm run playground -- up` spawns: starts everything,
// writes `<state>/env` and `<state>/pid` once the API answers, stops on SIGTERM/SIGINT.
// Flags: --no-operator (a fresh cluster for the operator's chart), --rbac (RBAC enforced).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postgresCanReach, startPlayground } from './playground.js';

const [stateDir, ...flags] = process.argv.slice(2);
if (!stateDir) {
  console.error('usage: daemon.ts <state dir>');
  process.exit(2);
}

// Volumes live below the data dir and the OS user postgres must reach them: a state dir in a
// checkout under a private home (/root is 0700) cannot hold them, so use a temp dir there.
const dataDir = join(stateDir, 'data');
const pg = await startPlayground({
  ...(postgresCanReach(stateDir) ? { dir: dataDir } : {}),
  operator: !flags.includes('--no-operator'),
  rbac: flags.includes('--rbac'),
});
const caFile = join(stateDir, 'ca.crt');
writeFileSync(caFile, pg.apiCa);
const env = {
  ...pg.env,
  PLAYGROUND_API_URL: pg.apiUrl,
  // curl --cacert "$PLAYGROUND_API_CA" "$PLAYGROUND_API_URL/version"; the kubeconfig carries it too.
  PLAYGROUND_API_CA: caFile,
  PLAYGROUND_RBAC: flags.includes('--rbac') ? 'on' : 'off',
  PLAYGROUND_DIR: pg.dir,
  PLAYGROUND_OPERATOR_VERSION: flags.includes('--no-operator') ? 'none' : pg.operator.settings.version,
};
writeFileSync(
  join(stateDir, 'env'),
  Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') + '\n',
);
writeFileSync(join(stateDir, 'pid'), `${process.pid}\n`);
console.log(`playground ready: ${pg.apiUrl}`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await pg.stop();
  } finally {
    rmSync(join(stateDir, 'env'), { force: true });
    rmSync(join(stateDir, 'pid'), { force: true });
    process.exit(0);
  }
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
