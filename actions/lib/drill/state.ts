// What the main step saves for the post step (core.saveState / core.getState).
export const State = {
  recoveryCluster: 'recovery-cluster',
  namespace: 'namespace',
  keep: 'keep-recovery-cluster',
  tornDown: 'torn-down',
  /** 'true' once Secrets (and, with object-store-copy, an ObjectStore) may have been copied to the recovery site. */
  copies: 'copies',
  objectStoreCopy: 'object-store-copy',
} as const;
