// The app's env Secret (the one its Deployment reads with envFrom): add-on vars are injected
// and removed here. Keys an add-on wrote are listed in an annotation, so a key the user set by
// hand is recognised and never overwritten (a collision), and removal takes only our keys.
import type { V1Secret } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, statusOf, withRetry } from '../kube/retry.js';
import { ConcurrentChangeError } from './association.js';
import type { AppTarget } from './types.js';
import type { ConnInfo } from '../postgres/conn-info.js';
import { ManagedBy } from '../labels.js';

export const OWNED_KEYS_ANNOTATION = 'cnpg-actions.io/addon-keys';
export const CREATED_BY_ANNOTATION = 'cnpg-actions.io/created-by';
export const ENV_KEYS = ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'] as const;
const SENSITIVE = new Set(['DATABASE_URL', 'PGPASSWORD']);

export function databaseUrl(f: ConnInfo): string {
  const e = encodeURIComponent;
  return `postgresql://${e(f.user)}:${e(f.password)}@${f.host}:${f.port}/${e(f.database)}`;
}

export function envVarsFor(f: ConnInfo): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl(f),
    PGHOST: f.host,
    PGPORT: String(f.port),
    PGUSER: f.user,
    PGPASSWORD: f.password,
    PGDATABASE: f.database,
  };
}

export function maskEnv(core: Pick<Core, 'setSecret'>, vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) if (SENSITIVE.has(k) && v) core.setSecret(v);
}

/** add-on -> keys it owns, from the Secret's annotation. */
export function ownedKeys(secret: V1Secret | undefined): Record<string, string[]> {
  const raw = secret?.metadata?.annotations?.[OWNED_KEYS_ANNOTATION];
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as Record<string, string[]>;
    return typeof v === 'object' && v ? v : {};
  } catch {
    return {};
  }
}

/** Keys the add-on would write that are already there and not its own: set by hand, or by another add-on. */
export function collisions(
  secret: V1Secret | undefined,
  addon: string,
  keys: readonly string[],
  leaving: readonly string[] = [],
): string[] {
  const owners = ownedKeys(secret);
  // Keys of add-ons removed earlier in the same sync will be gone by the time this one injects.
  const mine = new Set([addon, ...leaving].flatMap((a) => owners[a] ?? []));
  const present = new Set(Object.keys(secret?.data ?? {}).concat(Object.keys(secret?.stringData ?? {})));
  return keys.filter((k) => present.has(k) && !mine.has(k));
}

export function describeCollision(target: AppTarget, addon: string, keys: string[]): string {
  return (
    `${keys.join(', ')} already set in Secret ${target.namespace}/${target.envSecret} by hand (not by an add-on); ` +
    `${addon} will not overwrite ${keys.length > 1 ? 'them' : 'it'}. ` +
    `Remove ${keys.length > 1 ? 'those keys' : 'that key'} from the Secret to let the ` +
    `add-on manage ${keys.length > 1 ? 'them' : 'it'}, or remove the add-on.`
  );
}

export class EnvSecrets {
  constructor(
    private readonly clients: KubeClients,
    private readonly core: Pick<Core, 'setSecret'>,
  ) {}

  async read(target: AppTarget): Promise<V1Secret | undefined> {
    return withRetry(`read env secret ${target.namespace}/${target.envSecret}`, () =>
      ignoreNotFound(() =>
        this.clients.core.readNamespacedSecret({ name: target.envSecret, namespace: target.namespace }),
      ),
    );
  }

  /** Writes the add-on's vars; returns true if the Secret changed. Throws on a collision. */
  async inject(target: AppTarget, addon: string, vars: Record<string, string>): Promise<boolean> {
    maskEnv(this.core, vars);
    const secret = await this.read(target);
    const clash = collisions(secret, addon, Object.keys(vars));
    if (clash.length) throw new Error(describeCollision(target, addon, clash));
    const data = { ...(secret?.data ?? {}) };
    let changed = !secret;
    for (const [k, v] of Object.entries(vars)) {
      const encoded = Buffer.from(v, 'utf8').toString('base64');
      if (data[k] !== encoded) changed = true;
      data[k] = encoded;
    }
    const owners = ownedKeys(secret);
    const keys = Object.keys(vars).sort();
    if (JSON.stringify(owners[addon] ?? []) !== JSON.stringify(keys)) changed = true;
    if (!changed) return false;
    owners[addon] = keys;
    await this.write(target, secret, data, owners, 'addon-sync-inject-env');
    return true;
  }

  /** Removes the add-on's keys (only those the annotation says it owns); true if the Secret changed. */
  async remove(target: AppTarget, addon: string): Promise<boolean> {
    const secret = await this.read(target);
    if (!secret) return false; // app (or its Secret) gone: nothing left to remove
    const owners = ownedKeys(secret);
    const mine = owners[addon];
    if (!mine) return false;
    const data = { ...(secret.data ?? {}) };
    for (const k of mine) delete data[k];
    delete owners[addon];
    await this.write(target, secret, data, owners, 'addon-sync-remove-env');
    return true;
  }

  // fieldManager names the operation, so request logs (and fault rules) can tell writes apart.
  private async write(
    target: AppTarget,
    current: V1Secret | undefined,
    data: Record<string, string>,
    owners: Record<string, string[]>,
    fieldManager: string,
  ): Promise<void> {
    const { envSecret: name, namespace } = target;
    const annotations = { ...(current?.metadata?.annotations ?? {}) };
    if (Object.keys(owners).length) annotations[OWNED_KEYS_ANNOTATION] = JSON.stringify(owners);
    else delete annotations[OWNED_KEYS_ANNOTATION];
    try {
      if (!current) {
        const body: V1Secret = {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name, namespace, annotations: { ...annotations, [CREATED_BY_ANNOTATION]: ManagedBy.addonSync } },
          data,
        };
        await withRetry(`create env secret ${namespace}/${name}`, () =>
          this.clients.core.createNamespacedSecret({ namespace, body, fieldManager }),
        );
        return;
      }
      // A Secret we created and that now holds nothing is removed rather than left empty.
      if (
        current.metadata?.annotations?.[CREATED_BY_ANNOTATION] === ManagedBy.addonSync &&
        !Object.keys(data).length &&
        !Object.keys(owners).length
      ) {
        await withRetry(`delete env secret ${namespace}/${name}`, () =>
          ignoreNotFound(() =>
            this.clients.core.deleteNamespacedSecret({
              name,
              namespace,
              body: { preconditions: { resourceVersion: current.metadata?.resourceVersion } },
            }),
          ),
        );
        return;
      }
      const body: V1Secret = { ...current, metadata: { ...current.metadata, annotations }, data };
      delete body.stringData;
      await withRetry(`update env secret ${namespace}/${name}`, () =>
        this.clients.core.replaceNamespacedSecret({ name, namespace, body, fieldManager }),
      );
    } catch (err) {
      if (statusOf(err) === 409) throw new ConcurrentChangeError(`Secret ${namespace}/${name}`);
      if (statusOf(err) === 404 && !current)
        throw new Error(
          `namespace ${namespace} of app ${target.app} does not exist; deploy the app (or fix namespace-template) first.`,
          { cause: err },
        );
      throw err;
    }
  }
}
