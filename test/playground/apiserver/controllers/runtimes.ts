// Container runtimes on the playground's node: the generic kubelet runs every pod no other
// runtime claims. An emulator that really executes some images (e.g. the CNPG instance
// manager, with real PostgreSQL) registers a runtime that claims those pods by their spec,
// so the Kubernetes side needs no knowledge of what the pods are. Every runtime of the node shares its
// images (images.ts): a pod waits for its pull whichever runtime runs it.
import type { KubeObject } from '../../types.js';
import type { NodeImages } from './images.js';

export interface ContainerRuntime {
  name: string;
  /** Whether this runtime executes the pod (decided from the pod spec alone). */
  runs(pod: KubeObject): boolean;
}

export class ContainerRuntimes {
  private readonly list: ContainerRuntime[] = [];

  constructor(readonly images: NodeImages) {}

  register(rt: ContainerRuntime): () => void {
    this.list.push(rt);
    return () => {
      const i = this.list.indexOf(rt);
      if (i >= 0) this.list.splice(i, 1);
    };
  }

  /** The runtime that executes the pod, if not the generic kubelet. */
  claimedBy(pod: KubeObject): string | undefined {
    return this.list.find((r) => r.runs(pod))?.name;
  }
}
