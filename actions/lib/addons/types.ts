// Types of the add-on model (README.md, addon-sync): declarations read from app.toml,
// the registry's providers and variants, and the association records kept in the cluster.

export type LocalityMode = 'on_cluster' | 'remote';

/** How a variant is realised: its own CNPG Cluster, a database+role on the shared Cluster, or on an external server. */
export type Backend = 'dedicated' | 'shared' | 'remote';

export interface VariantSpec {
  name: string;
  description: string;
  /** Shown to users in the plan and summary (storage, instances...). */
  display: Record<string, string>;
  backend: Backend;
  /** Dedicated only: PVC size (grow-only) and instance count. */
  storageGi?: number;
  instances?: number;
}

export interface ProviderSpec {
  /** The add-on name used under [addons.<name>] in app.toml. */
  name: string;
  displayName: string;
  locality: LocalityMode;
  defaultVariant: string;
  variants: Record<string, VariantSpec>;
}

/** One `[addons.<name>]` table of an app.toml. */
export interface AddonDeclaration {
  addon: string;
  variant: string;
  version?: string;
}

export interface AppDeclaration {
  name: string;
  file: string;
  /** undefined: the file has no `addons` table, so the app's add-ons are left untouched. */
  addons?: AddonDeclaration[];
}

export type AssociationStatus = 'pending' | 'provisioning' | 'active' | 'deprovisioning' | 'error';

/** A cluster object or SQL object an association owns; recorded BEFORE it is created so a crash never orphans it. */
export interface OwnedResource {
  kind: 'Cluster' | 'ScheduledBackup' | 'Secret' | 'Database' | 'Role';
  namespace?: string;
  name: string;
  /** For Database/Role: where they live (`shared:<cluster>` or `remote`). */
  server?: string;
}

/** Where an app's add-on env vars go and which Deployment to roll. */
export interface AppTarget {
  app: string;
  namespace: string;
  envSecret: string;
  deployment: string;
}

export interface Association {
  app: string;
  addon: string;
  variant: string;
  version?: string;
  locality: LocalityMode;
  status: AssociationStatus;
  reason?: string;
  /** What `deprovisioning` is finishing: a removal, or the compensation of a failed provisioning. */
  intent?: 'remove' | 'compensate';
  target: AppTarget;
  injectedKeys: string[];
  resources: OwnedResource[];
  updatedAt?: string;
  /** resourceVersion of the ConfigMap it was read from (optimistic concurrency). */
  resourceVersion?: string;
}
