// The add-on registry in code. Each provider states its LocalityMode, display name, variants
// and default variant; registration.ts stores this in the cluster at sync time.
import type { ProviderSpec, VariantSpec } from './types.js';

// Instances per dedicated variant: small is for development and low-stakes apps (one
// instance, cheapest); medium adds one streaming replica so a node loss is a failover, not a
// restore; large runs three so a failover still leaves a replica (and one to read from).
const dedicated = (name: string, storageGi: number, instances: number, description: string): VariantSpec => ({
  name,
  description,
  backend: 'dedicated',
  storageGi,
  instances,
  display: { storage: `${storageGi}Gi`, instances: String(instances), server: 'dedicated CNPG Cluster' },
});

export const POSTGRESQL: ProviderSpec = {
  name: 'postgresql',
  displayName: 'PostgreSQL (CloudNativePG)',
  locality: 'on_cluster',
  defaultVariant: 'small',
  variants: {
    small: dedicated('small', 1, 1, 'Dedicated single-instance cluster for development and small apps'),
    medium: dedicated('medium', 10, 2, 'Dedicated cluster with one streaming replica'),
    large: dedicated('large', 50, 3, 'Dedicated cluster with two streaming replicas'),
    shared: {
      name: 'shared',
      description: "One database and one role on the platform's shared CNPG Cluster",
      backend: 'shared',
      display: { storage: 'shared', instances: 'shared', server: 'shared CNPG Cluster' },
    },
  },
};

export const POSTGRESQL_REMOTE: ProviderSpec = {
  name: 'postgresql-remote',
  displayName: 'PostgreSQL (external server)',
  locality: 'remote',
  defaultVariant: 'database',
  variants: {
    database: {
      name: 'database',
      description: 'One database and one role on an existing external PostgreSQL server',
      backend: 'remote',
      display: { storage: 'external', instances: 'external', server: 'remote-admin-secret server' },
    },
  },
};

export const REGISTRY: readonly ProviderSpec[] = [POSTGRESQL, POSTGRESQL_REMOTE];

export function providerOf(addon: string): ProviderSpec | undefined {
  return REGISTRY.find((p) => p.name === addon);
}

export function variantOf(addon: string, variant: string): VariantSpec | undefined {
  return providerOf(addon)?.variants[variant];
}

/** Keys an `[addons.<name>]` table may hold. */
export const ADDON_KEYS = ['variant', 'version'] as const;
