// What the main step saves for the post step (core.saveState / core.getState). The post step
// reads nothing else: the runner does not reliably pass inputs to post steps (see
// test/playground/CONFORMANCE.md section 13), so everything it needs is here, saved before the
// recovery cluster is created (after a SIGKILL of the main step post still has what it needs).
export const State = {
  recoveryCluster: 'recovery-cluster',
  namespace: 'namespace',
  /** The kubeconfig of the recovery site: main's, or recovery-kubeconfig's (masked in both steps). */
  kubeconfig: 'kubeconfig',
  keep: 'keep-recovery-cluster',
  /** Main verified the teardown: post has nothing to do. */
  tornDown: 'torn-down',
  /** 'true' once Secrets (and, with object-store-copy, an ObjectStore) may have been copied to the recovery site. */
  copies: 'copies',
  objectStoreCopy: 'object-store-copy',
  /** 'true' once ConfigMaps the live cluster's env references may have been copied. */
  configMapCopy: 'config-map-copy',
} as const;
