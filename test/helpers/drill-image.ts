// The drill's container image (workflows/helm/Dockerfile) on the playground's node: pods whose image
// is the chart's repository run the Dockerfile's ENTRYPOINT/CMD/ENV/USER as a local Node 24 process,
// its /app/ being this repository (COPY dist/ /app/dist/, and the package.json there says "type":
// "module" as the Dockerfile's does). The runtime itself is generic (playground process-runtime.ts).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { URL } from 'node:url';
import { ProcessRuntime, type LocalImage } from '../playground/apiserver/controllers/process-runtime.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { repoRoot, requireNode24 } from './run-action.js';

export const DOCKERFILE = join(repoRoot, 'workflows/helm/Dockerfile');

/** ENTRYPOINT, CMD (exec form), ENV, USER and WORKDIR of the Dockerfile, with /app/ and `node` mapped locally. */
export function drillImage(dockerfile = DOCKERFILE): LocalImage {
  const lines = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'));
  const instr = (name: string) =>
    lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());
  const local = (arg: string) => (arg === 'node' ? requireNode24() : arg.replace(/^\/app\//, `${repoRoot}/`));
  const exec = (name: string) => (JSON.parse(instr(name).at(-1) ?? '[]') as string[]).map(local);
  if (!instr('COPY').includes('dist/ /app/dist/'))
    throw new Error(`${dockerfile} no longer copies dist/ to /app/dist/: update test/helpers/drill-image.ts`);
  const [uid, gid] = (instr('USER').at(-1) ?? '0:0').split(':').map(Number);
  const env = Object.fromEntries(instr('ENV').map((e) => e.split('=', 2) as [string, string]));
  return {
    entrypoint: exec('ENTRYPOINT'),
    cmd: exec('CMD'),
    env,
    workingDir: local(`${instr('WORKDIR').at(-1)}/`),
    user: { uid, gid: gid ?? uid },
  };
}

/** Registers the drill image's runtime with the playground (it needs rbac: true for the pod's token). */
export function runDrillImageOn(pgd: PlaygroundHandle, repository: string): ProcessRuntime {
  const api = new URL(pgd.apiUrl);
  const dataDir = join(pgd.dir, 'process-runtime');
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const image = drillImage();
  return new ProcessRuntime(pgd.store, pgd.logs, pgd.runtimes, {
    name: 'cnpg-restore-drill-image',
    image: (ref) => (ref.split('@')[0].replace(/:[^:/]+$/, '') === repository ? image : undefined),
    token: (namespace, serviceAccount) => pgd.mintToken(namespace, serviceAccount),
    apiServer: { host: api.hostname, port: api.port, ca: pgd.apiCa },
    dataDir,
  });
}
