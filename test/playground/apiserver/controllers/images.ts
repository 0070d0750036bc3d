// The node's image store, as the kubelet's image manager keeps it (kubernetes pkg/kubelet/images/image_manager.go@cfce511
// `EnsureImageExists`): before a pod's containers are created each image is checked against the node and pulled as its
// `imagePullPolicy` says, with the `Pulling` / `Pulled` events upstream records; meanwhile the containers wait in
// `ContainerCreating`. Pulls go one at a time: `serializeImagePulls` defaults to true
// (pkg/kubelet/apis/config/v1beta1/defaults.go@1c9cf91). The generic kubelet and the CNPG runtime both start their
// pods through it (one node, one image store).
import type { KubeObject } from '../../types.js';
import type { MemStore } from '../store.js';
import { DELAYS, type Timing } from '../../timing.js';
import { nowIso } from './queue.js';

type Container = { name: string; image: string; imagePullPolicy?: string };

/** The status of a container not created yet, waiting for `waiting.reason`. */
export function waitingStatus(c: { name: string; image: string }, waiting: { reason: string; message?: string }) {
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting },
  };
}
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** The tag of an image reference ('' with a digest and no tag): the last `:` after the last `/`. */
function imageTag(image: string): string | undefined {
  const name = image.split('@')[0];
  const i = name.lastIndexOf(':');
  return i > name.lastIndexOf('/') ? name.slice(i + 1) : image.includes('@') ? '' : undefined;
}

/** The API server's default (pkg/apis/core/v1/defaults.go@e34b093 `SetDefaults_Container`): `latest` or no tag pulls always. */
export function defaultPullPolicy(image: string): PullPolicy {
  const tag = imageTag(image);
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Go's `time.Duration` text for whole milliseconds, as the `Pulled` event prints it ("850ms", "2.5s", "1m2.5s"). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const m = Math.floor(ms / 60_000);
  const s = `${((ms % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
  return m ? `${m}m${s}` : s;
}

/** A stable size in bytes per image (tens to hundreds of MB), for the `Pulled` event. */
function imageSize(image: string): number {
  let h = 2166136261;
  for (const ch of image) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return 50_000_000 + (h % 400_000_000);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

export type EnsureResult = { ok: true } | { ok: false; reason: 'ErrImageNeverPull'; message: string };

export class NodeImages {
  private readonly present = new Set<string>();
  /** The serialized puller's queue: the end of the last pull requested. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Pick<MemStore, 'get' | 'mutate' | 'recordEvent'>,
    private readonly timing: Timing,
  ) {}

  has(image: string): boolean {
    return this.present.has(image);
  }

  /**
   * Makes every image of the pod (init containers first) present as its pull policy says, recording the kubelet's
   * events; resolves `ok: false` when one cannot be (`Never` and absent: the pod then waits in ErrImageNeverPull).
   */
  async ensure(pod: KubeObject): Promise<EnsureResult> {
    const containers: Container[] = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
    let waiting = false;
    for (const c of containers) {
      const policy = (c.imagePullPolicy as PullPolicy | undefined) ?? defaultPullPolicy(c.image);
      const present = this.present.has(c.image);
      if (policy === 'Never' && !present) return this.neverPull(pod, c);
      if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
        this.store.recordEvent(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
        continue;
      }
      if (!waiting) this.markCreating(pod);
      waiting = true;
      if (!(await this.pullFor(pod, c.image))) return { ok: true }; // deleted meanwhile: nothing to start
    }
    return { ok: true };
  }

  /** One pull with its events; false when the pod went away while it waited. */
  private async pullFor(pod: KubeObject, image: string): Promise<boolean> {
    this.store.recordEvent(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const requested = Date.now();
    const pulled = await this.pull(image);
    const { namespace, name } = pod.metadata;
    if (!this.store.get('v1/pods', namespace, name)) return false;
    this.store.recordEvent(
      pod,
      'Normal',
      'Pulled',
      `Successfully pulled image "${image}" in ${goDuration(pulled)} (${goDuration(Date.now() - requested)} including waiting). Image size: ${imageSize(image)} bytes.`,
    );
    return true;
  }

  /** Queued behind the pulls before it; resolves with the pull's own duration (ms). */
  private pull(image: string): Promise<number> {
    const run = async () => {
      const started = Date.now();
      // An image already on the node (`Always`, or pulled while this one queued) has its layers: only the
      // registry's manifest round trip remains, the bottom of the range (nothing with fixed timing).
      const cached = this.timing.mode === 'fixed' ? 0 : DELAYS.imagePull.range[0];
      await sleep(this.present.has(image) ? cached : this.timing.delay('imagePull'));
      this.present.add(image);
      return Date.now() - started;
    };
    const p = this.tail.then(run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private neverPull(pod: KubeObject, c: Container): EnsureResult {
    const message = `Container image "${c.image}" is not present with pull policy of Never`;
    this.store.recordEvent(pod, 'Warning', 'ErrImageNeverPull', message);
    this.setWaiting(pod, (x) => (x.name === c.name ? { reason: 'ErrImageNeverPull', message } : undefined));
    return { ok: false, reason: 'ErrImageNeverPull', message };
  }

  /** The containers are being created while their images come (init containers first, the others after them). */
  private markCreating(pod: KubeObject): void {
    this.setWaiting(pod, () => undefined);
  }

  /** Pending, every container waiting: for `special(c)` when it says, else ContainerCreating (PodInitializing after init containers). */
  private setWaiting(pod: KubeObject, special: (c: Container) => { reason: string; message?: string } | undefined) {
    const at = nowIso();
    const hasInit = (pod.spec.initContainers ?? []).length > 0;
    const status = (c: Container, fallback: string) => waitingStatus(c, special(c) ?? { reason: fallback });
    const { namespace, name } = pod.metadata;
    if (!this.store.get('v1/pods', namespace, name)) return;
    const fields = {
      phase: 'Pending',
      startTime: pod.status?.startTime ?? at,
      ...(hasInit
        ? { initContainerStatuses: (pod.spec.initContainers as Container[]).map((c) => status(c, 'ContainerCreating')) }
        : {}),
      containerStatuses: (pod.spec.containers as Container[]).map((c) =>
        status(c, hasInit ? 'PodInitializing' : 'ContainerCreating'),
      ),
    };
    this.store.mutate('v1/pods', namespace, name, (o) => void (o.status = { ...o.status, ...fields }), {
      status: true,
    });
  }
}
