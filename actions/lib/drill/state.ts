// What the main step saves for the post step (core.saveState / core.getState).
export const State = {
  recoveryCluster: 'recovery-cluster',
  namespace: 'namespace',
  keep: 'keep-recovery-cluster',
  tornDown: 'torn-down',
} as const;
