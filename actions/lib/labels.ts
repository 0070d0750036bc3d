// The label every object this suite creates carries, and each action's value: defined once here.
// The values are a contract with objects already in clusters (sweeps, teardowns and gates select
// by them): never change one.
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

export const ManagedBy = {
  drill: 'cnpg-restore-drill',
  addonSync: 'addon-sync',
  soakGate: 'cnpg-actions',
} as const;
