// Contracts between the parts of the playground: the API server's object store, the
// "network" that maps pod ports to real loopback ports, pod logs, and fault injection.
// The API server (apiserver/) implements Store; the CNPG operator emulator (cnpg/)
// reconciles through it in-process, the way a controller uses an informer + client.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  generateName?: string;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: any;
}

/** A served resource type. `gvr` keys are `<group>/<version>/<plural>`, core group as `v1/<plural>`. */
export interface ResourceType {
  group: string; // '' for core
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  statusSubresource: boolean;
  shortNames?: string[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

/** Error carrying a Kubernetes Status (reason e.g. NotFound, AlreadyExists, Conflict, Invalid). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface Store {
  /** Resource types served right now (built-ins plus those of Established CRDs). */
  types(): ResourceType[];
  typeOf(gvr: string): ResourceType | undefined;
  get(gvr: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(gvr: string, namespace?: string, opts?: ListOptions): { items: KubeObject[]; resourceVersion: string };
  /** Assigns uid, resourceVersion, generation, creationTimestamp; handles generateName. 409 AlreadyExists. */
  create(gvr: string, obj: KubeObject): KubeObject;
  /**
   * Replaces the object. With a resourceVersion in obj.metadata that is not current: 409 Conflict.
   * `status: true` changes only .status (the status subresource); otherwise .status is kept as stored
   * for types with a status subresource. generation bumps when anything but metadata/status changes.
   * Removing the last finalizer of an object with deletionTimestamp removes it.
   */
  update(gvr: string, obj: KubeObject, opts?: { status?: boolean }): KubeObject;
  /** Read-modify-write with retry on conflict; returns undefined when the object is gone. */
  mutate(
    gvr: string,
    namespace: string | undefined,
    name: string,
    fn: (obj: KubeObject) => void,
    opts?: { status?: boolean },
  ): KubeObject | undefined;
  /** Finalizers -> deletionTimestamp only; else removed; dependents per propagation (default Background). */
  delete(
    gvr: string,
    namespace: string | undefined,
    name: string,
    opts?: { propagationPolicy?: PropagationPolicy },
  ): KubeObject | undefined;
  /** Events after `resourceVersion` (replayed from a bounded history; too old -> 410 Gone ApiError), then live. */
  watch(
    gvr: string,
    namespace: string | undefined,
    opts: ListOptions & { resourceVersion?: string },
    onEvent: (ev: WatchEvent) => void,
  ): () => void;
  /** Records a core/v1 Event about the object (reason, message, type Normal|Warning). */
  recordEvent(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /**
   * Admission webhook for a type: runs on create and update (before storage, also for dry-run),
   * may mutate `obj` (defaulting) or throw ApiError (e.g. 422 Invalid / 400 with CNPG's message).
   */
  addAdmission(gvr: string, fn: (op: 'CREATE' | 'UPDATE', obj: KubeObject, old?: KubeObject) => void): void;
}

/** Pod ports: the operator registers where a pod's container port really listens. */
/** A Service's endpoints as kube-proxy programmed them: the pods it routes to, and service port to pod port. */
export interface ServiceRoute {
  pods: string[];
  ports: Record<number, number>;
}

export interface PodNetwork {
  register(namespace: string, pod: string, containerPort: number, target: { host: string; port: number }): void;
  unregister(namespace: string, pod: string): void;
  resolve(namespace: string, pod: string, containerPort: number): { host: string; port: number } | undefined;
  /** Set by the endpoints controller after its delay; undefined removes the Service's routes. */
  setRoute(namespace: string, service: string, route: ServiceRoute | undefined): void;
  route(namespace: string, service: string): ServiceRoute | undefined;
  /** A new connection to a Service port: a routed endpoint's address, undefined when none is routed. */
  resolveService(
    namespace: string,
    service: string,
    port: number,
  ): { host: string; port: number; pod: string } | undefined;
}

/** Container logs served by pods/log. */
export interface PodLogs {
  append(namespace: string, pod: string, container: string, text: string): void;
  read(namespace: string, pod: string, container?: string): string;
  subscribe(namespace: string, pod: string, container: string | undefined, onText: (text: string) => void): () => void;
  clear(namespace: string, pod: string): void;
}

/** API fault rule: the first `times` requests matching method + path regex get the fault. */
export interface FaultRule {
  method?: string; // e.g. 'GET', 'POST', '*' (default)
  path: string; // regex source matched against the URL path (no query)
  query?: string; // optional regex matched against the raw query string
  status?: number; // answer with this code and a Status body (e.g. 500, 429, 409)
  retryAfterSeconds?: number; // Retry-After header with 429
  delayMs?: number; // delay before handling (or before the fault); with status undefined: passes through after delay
  dropWatch?: boolean; // for watch requests: send headers and then close the stream after `dropAfterMs`
  dropAfterMs?: number;
  hang?: boolean; // never answer (client timeouts)
  times?: number; // default 1; Infinity for every request
}

export interface RequestLogEntry {
  time: number;
  method: string;
  path: string;
  query: string;
  status: number;
  userAgent?: string;
  watch: boolean;
}

/** Operator emulator knobs tests set. */
export interface OperatorSettings {
  /**
   * Emulated operator version (cnpg/versions.ts): 1.25.0..1.30.x and 'main' bootstrap with Jobs,
   * 'main+pr11319' in the bootstrap-instance init container.
   */
  version: string;
  /** Recovery of clusters whose name matches stalls forever (replay never finishes). */
  stallRecovery?: RegExp;
  /** The status of clusters whose name matches is left as it is (an operator busy elsewhere, requeued later). */
  holdStatus?: RegExp;
  /** Bootstrap commands (`role`, else every one) of clusters whose name matches fail with this message in the log of the container that runs them (Job pod or `bootstrap-instance` init container). */
  failBootstrap?: { cluster: RegExp; role?: 'initdb' | 'join' | 'full-recovery'; message: string };
  /** Recovery Jobs of clusters whose name matches fail with this message in the pod log. */
  failRecovery?: { cluster: RegExp; message: string };
  /** backoffLimit of instance-creation Jobs (initdb, full-recovery, join); Kubernetes' default 6 when unset. */
  jobBackoffLimit?: number;
  /** Delay before a crashed postgres is restarted (kubelet's first CrashLoopBackOff step); default 10000. */
  crashRestartDelayMs?: number;
  /** CNPG-i plugins the operator has loaded (default: the Barman Cloud plugin); a Cluster needing another is in the unknown-plugin phase until it is loaded. */
  plugins?: string[];
}

/** What startPlayground() returns (test/playground/playground.ts). */
export interface PlaygroundHandle {
  dir: string;
  apiUrl: string;
  /** PEM of the CA that signed the API server's certificate (the kubeconfig carries it too). */
  apiCa: string;
  kubeconfigPath: string;
  /** KUBECONFIG, PLAYGROUND_S3_ENDPOINT, PLAYGROUND_S3_BUCKET, PLAYGROUND_S3_SECRET, PATH (with .tools/bin first). */
  env: Record<string, string>;
  store: Store;
  network: PodNetwork;
  logs: PodLogs;
  faults: { add(rule: FaultRule): void; clear(): void };
  requestLog: { entries(): RequestLogEntry[]; clear(): void };
  operator: { settings: OperatorSettings };
  s3: S3Handle;
  /** With rbac: a bound ServiceAccount token (TokenRequest; default 3600 s), e.g. for kubeconfigFor. */
  mintToken(namespace: string, serviceAccount: string, expirationSeconds?: number): string;
  /** Writes a kubeconfig for this cluster that authenticates with `token`; returns its path. */
  kubeconfigFor(token: string, name: string): string;
  /** The node's container runtimes: a test registers one to really run some image's pods (process-runtime.ts). */
  runtimes: { register(rt: { name: string; runs(pod: KubeObject): boolean }): () => void };
  stop(): Promise<void>;
}

export interface S3Handle {
  endpoint: string; // http://127.0.0.1:<port>
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Directory s3rver keeps objects in (tests corrupt or delete objects through the S3 API or here). */
  directory: string;
  /** Adds a key that may only read (GET, HEAD) here, its SigV4 signature checked: any write is refused with 403 AccessDenied. */
  addReadOnlyKey(accessKeyId: string, secretAccessKey: string): void;
  /** The requests received since `since` (epoch ms), with the access key that signed each. */
  requests(since?: number): S3Request[];
  stop(): Promise<void>;
}

export interface S3Request {
  time: number;
  /** Empty for an unsigned request. */
  accessKeyId: string;
  method: string;
  path: string;
  status: number;
}

export interface OperatorHandle {
  settings: OperatorSettings;
  stop(): Promise<void>;
}
