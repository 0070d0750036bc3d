// The registry stored in the cluster at sync time: one ConfigMap in the add-ons namespace
// listing every provider with its locality, display name, variants and default, so users
// (and other tools) can see what may be declared and where each add-on runs. Written only
// when its content changes, so a no-op sync writes nothing.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, statusOf, withRetry } from '../kube/retry.js';
import { Labels } from './association.js';
import { REGISTRY } from './registry.js';
import type { ProviderSpec } from './types.js';
import { ManagedBy } from '../labels.js';

export const REGISTRATION_NAME = 'addon-registry';

export function registrationData(providers: readonly ProviderSpec[] = REGISTRY): Record<string, string> {
  const data: Record<string, string> = {};
  for (const p of providers) {
    data[p.name] = JSON.stringify({
      displayName: p.displayName,
      locality: p.locality,
      defaultVariant: p.defaultVariant,
      variants: Object.fromEntries(
        Object.values(p.variants).map((v) => [v.name, { description: v.description, ...v.display }]),
      ),
    });
  }
  return data;
}

/** Ensures the namespace exists and the registration is current; returns what it wrote. */
export async function registerProviders(clients: KubeClients, namespace: string): Promise<string[]> {
  const wrote: string[] = [];
  const ns = await withRetry(`read namespace ${namespace}`, () =>
    ignoreNotFound(() => clients.core.readNamespace({ name: namespace })),
  );
  if (!ns) {
    try {
      await withRetry(`create namespace ${namespace}`, () =>
        clients.core.createNamespace({
          body: { metadata: { name: namespace, labels: { [Labels.managedBy]: ManagedBy.addonSync } } },
        }),
      );
      wrote.push(`namespace ${namespace}`);
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
  }
  const data = registrationData();
  const current = await withRetry(`read ${REGISTRATION_NAME}`, () =>
    ignoreNotFound(() => clients.core.readNamespacedConfigMap({ name: REGISTRATION_NAME, namespace })),
  );
  if (current && JSON.stringify(sorted(current.data ?? {})) === JSON.stringify(sorted(data))) return wrote;
  const body: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: REGISTRATION_NAME,
      namespace,
      labels: { [Labels.managedBy]: ManagedBy.addonSync, [Labels.component]: 'registration' },
      resourceVersion: current?.metadata?.resourceVersion,
    },
    data,
  };
  if (current)
    await withRetry('update add-on registration', () =>
      clients.core.replaceNamespacedConfigMap({ name: REGISTRATION_NAME, namespace, body }),
    );
  else {
    try {
      await withRetry('create add-on registration', () => clients.core.createNamespacedConfigMap({ namespace, body }));
    } catch (err) {
      if (statusOf(err) !== 409) throw err; // another run registered the same code at the same time
    }
  }
  wrote.push(`ConfigMap ${namespace}/${REGISTRATION_NAME}`);
  return wrote;
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}
