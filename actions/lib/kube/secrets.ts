// Secret values, decoded and masked the moment they are read.
import type { Core } from '../core.js';
import type { KubeClients } from './client.js';
import { withRetry, type RetryOptions } from './retry.js';

/** Keys whose values are never secret: masking them would blank host names and ports in logs. */
const PLAIN_KEYS = new Set(['username', 'user', 'dbname', 'host', 'port']);

export async function readSecret(
  core: Pick<Core, 'setSecret'>,
  clients: KubeClients,
  namespace: string,
  name: string,
  retry?: RetryOptions,
): Promise<Record<string, string>> {
  const secret = await withRetry(
    `read secret ${namespace}/${name}`,
    () => clients.core.readNamespacedSecret({ name, namespace }),
    retry,
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    out[k] = Buffer.from(v, 'base64').toString('utf8');
    if (!PLAIN_KEYS.has(k) && out[k]) core.setSecret(out[k]);
  }
  return out;
}
