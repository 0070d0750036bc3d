// A container runtime (runtimes.ts) that really runs a pod's one container as a local process, for
// images a test maps to a local entrypoint (`images`): the image's ENTRYPOINT/CMD overridden by the
// container's command/args as a container runtime does, its env resolved as the kubelet does, and
// in a private mount namespace (`unshare --mount`, util-linux) what a real pod sees at its paths:
// its own /run with the ServiceAccount token, CA and namespace at /var/run/secrets/kubernetes.io/
// serviceaccount (client-node's loadFromCluster reads them there), emptyDir volumes bind-mounted
// at their mountPaths, the root file system read-only when readOnlyRootFilesystem, and the pod's
// runAsUser/runAsGroup (setpriv; without root, a user namespace and the caller's user). The process's stdout/stderr is the pod log, its exit code the
// container's terminated state and the pod phase; deleting the pod SIGTERMs it (SIGKILL after
// terminationGracePeriodSeconds), a finalizer holding the pod until it exited.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject, PodLogs, Store } from '../../types.js';
import { conditions, missingEnvSource, setStatus } from './kubelet.js';
import { nowIso } from './queue.js';
import type { ContainerRuntimes } from './runtimes.js';

const FINALIZER = 'playground.local/process-runtime';
const SA_DIR = '/run/secrets/kubernetes.io/serviceaccount';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the image would run, as local paths: ENTRYPOINT and CMD (argv), ENV, USER. */
export interface LocalImage {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir: string;
  user?: { uid: number; gid: number };
}

export interface ProcessRuntimeOptions {
  name: string;
  /** The local image for a container image reference; undefined: not this runtime's. */
  image(ref: string): LocalImage | undefined;
  /** A bound token of the pod's ServiceAccount (TokenRequest), as the kubelet's projected volume holds. */
  token(namespace: string, serviceAccount: string): string;
  /** The in-cluster API server: KUBERNETES_SERVICE_HOST/PORT and the CA in ca.crt. */
  apiServer: { host: string; port: string; ca: string };
  /** Where pod directories (token, emptyDirs) live; removed with the pod. */
  dataDir: string;
}

type Container = Record<string, any>;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Refused loudly: what this runtime does not emulate (rather than a pod that runs differently). */
function unsupported(pod: KubeObject): string | undefined {
  const spec = pod.spec;
  if (spec.containers.length !== 1 || spec.initContainers?.length) return 'one container and no init containers';
  if (spec.restartPolicy !== 'Never') return `restartPolicy Never (not ${spec.restartPolicy})`;
  const c: Container = spec.containers[0];
  for (const e of c.env ?? []) {
    const from = Object.keys(e.valueFrom ?? {}).find(
      (k) => !['fieldRef', 'secretKeyRef', 'configMapKeyRef'].includes(k),
    );
    if (from) return `env ${e.name} from ${from}`;
  }
  for (const m of c.volumeMounts ?? []) {
    const v = spec.volumes?.find((x: { name: string }) => x.name === m.name);
    if (!v?.emptyDir || m.subPath) return `volume mount ${m.mountPath} (emptyDir volumes only)`;
  }
  return undefined;
}

function fieldValue(pod: KubeObject, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata[m[1] as 'labels' | 'annotations']?.[m[2]] ?? '';
  const known: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  if (!(path in known)) throw new Error(`env fieldRef ${path} is not supported by the playground`);
  return known[path] ?? '';
}

/** The container's env as the kubelet builds it: envFrom, then env (value, fieldRef, secret/configMap keys). */
function containerEnv(store: Store, pod: KubeObject, c: Container): Record<string, string> {
  const ns = pod.metadata.namespace!;
  const data = (kind: 'secrets' | 'configmaps', name: string): Record<string, string> | undefined => {
    const o = store.get(`v1/${kind}`, ns, name);
    if (!o) return undefined;
    if (kind === 'configmaps') return o.data ?? {};
    return Object.fromEntries(
      Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]),
    );
  };
  const env: Record<string, string> = {};
  for (const f of c.envFrom ?? []) {
    const src = f.secretRef ? data('secrets', f.secretRef.name) : data('configmaps', f.configMapRef?.name);
    for (const [k, v] of Object.entries(src ?? {})) env[`${f.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    if (!from) env[e.name] = e.value ?? '';
    else if (from.fieldRef) env[e.name] = fieldValue(pod, from.fieldRef.fieldPath);
    else {
      const ref = from.secretKeyRef ?? from.configMapKeyRef;
      const v = data(from.secretKeyRef ? 'secrets' : 'configmaps', ref.name)?.[ref.key];
      if (v !== undefined) env[e.name] = v;
    }
  }
  return env;
}

interface Running {
  child: ChildProcess;
  startedAt: string;
  killTimer?: NodeJS.Timeout;
  exited: Promise<void>;
}

export class ProcessRuntime {
  private readonly running = new Map<string, Running>();
  private stopped = false;
  private readonly stopWatch: () => void;
  private readonly unregister: () => void;

  constructor(
    private readonly store: Store,
    private readonly logs: PodLogs,
    runtimes: ContainerRuntimes | { register: ContainerRuntimes['register'] },
    private readonly opts: ProcessRuntimeOptions,
  ) {
    // Stopped: no pod is this runtime's any more (the admission hook below cannot be removed).
    const runs = (pod: KubeObject) =>
      !this.stopped && !!pod.spec?.containers?.some((c: Container) => opts.image(String(c.image)));
    this.unregister = runtimes.register({ name: opts.name, runs });
    // Held while the process stops (the kubelet's grace period), as the CNPG runtime does.
    store.addAdmission('v1/pods', (op, obj) => {
      if (op === 'CREATE' && runs(obj) && !obj.metadata.finalizers?.includes(FINALIZER))
        obj.metadata.finalizers = [...(obj.metadata.finalizers ?? []), FINALIZER];
    });
    this.stopWatch = store.watch('v1/pods', undefined, {}, (ev) => {
      if (!runs(ev.object)) return;
      setImmediate(() => this.onPod(ev.object, ev.type === 'DELETED'));
    });
  }

  private key = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;
  private podDir = (pod: KubeObject) => join(this.opts.dataDir, `${pod.metadata.namespace}_${pod.metadata.name}`);

  private onPod(pod: KubeObject, deleted: boolean): void {
    const r = this.running.get(this.key(pod));
    if (deleted || pod.metadata.deletionTimestamp) return this.terminate(pod, r);
    const phase = pod.status?.phase;
    if (r || phase === 'Succeeded' || phase === 'Failed' || pod.status?.containerStatuses?.length) return;
    const refused = unsupported(pod);
    if (refused) return this.refuse(pod, `the playground's ${this.opts.name} runtime supports ${refused} only`);
    const missing = missingEnvSource(this.store, pod.metadata.namespace!, pod.spec.containers);
    if (missing) return this.refuse(pod, `CreateContainerConfigError: ${missing}`);
    try {
      this.start(pod);
    } catch (e) {
      this.refuse(pod, (e as Error).message);
    }
  }

  /** Writes the ServiceAccount files and emptyDirs, then spawns the container's process in its mounts. */
  private start(pod: KubeObject): void {
    const c: Container = pod.spec.containers[0];
    const image = this.opts.image(c.image)!;
    const env: Record<string, string> = {
      PATH: DEFAULT_PATH,
      HOME: '/',
      ...image.env,
      ...containerEnv(this.store, pod, c),
    };
    env.KUBERNETES_SERVICE_HOST = this.opts.apiServer.host;
    env.KUBERNETES_SERVICE_PORT = this.opts.apiServer.port;
    const dir = this.podDir(pod);
    const mounts: string[] = ['mount -t tmpfs -o mode=0755 tmpfs /run'];
    if (pod.spec.automountServiceAccountToken !== false) {
      const sa = join(dir, 'serviceaccount');
      mkdirSync(sa, { recursive: true, mode: 0o755 });
      const saName = pod.spec.serviceAccountName ?? 'default';
      writeFileSync(join(sa, 'token'), this.opts.token(pod.metadata.namespace!, saName), { mode: 0o644 });
      writeFileSync(join(sa, 'ca.crt'), this.opts.apiServer.ca, { mode: 0o644 });
      writeFileSync(join(sa, 'namespace'), pod.metadata.namespace!, { mode: 0o644 });
      mounts.push(`mkdir -p ${SA_DIR}`, `mount --bind -o ro ${q(sa)} ${SA_DIR}`);
    }
    for (const m of c.volumeMounts ?? []) {
      const vol = join(dir, 'volumes', m.name);
      mkdirSync(vol, { recursive: true });
      chmodSync(vol, 0o777); // an emptyDir is world-writable, as the kubelet makes it
      mounts.push(`mount --bind ${m.readOnly ? '-o ro ' : ''}${q(vol)} ${q(m.mountPath)}`);
    }
    if (c.securityContext?.readOnlyRootFilesystem) mounts.push('mount -o remount,bind,ro /');
    const ctx = { ...pod.spec.securityContext, ...c.securityContext };
    const user =
      ctx.runAsUser === undefined ? image.user : { uid: ctx.runAsUser, gid: ctx.runAsGroup ?? ctx.runAsUser };
    // As root: a mount namespace, then the pod's user. Otherwise (a contributor without root) a user namespace
    // mapping the caller to root makes the mounts possible; the process then runs as the caller.
    const root = process.getuid?.() === 0;
    const drop =
      user && root ? `setpriv --reuid=${user.uid} --regid=${user.gid} --clear-groups --no-new-privs -- ` : '';
    const argv = [...(c.command ?? image.entrypoint), ...(c.args ?? (c.command ? [] : image.cmd))];
    const script = `set -e; ${mounts.join('; ')}; cd ${q(c.workingDir ?? image.workingDir)}; exec ${drop}"$@"`;
    const ns = [...(root ? [] : ['--user', '--map-root-user']), '--mount', '--propagation', 'private'];
    const child = spawn('unshare', [...ns, 'sh', '-c', script, 'sh', ...argv], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.track(pod, child, c.name);
  }

  private track(pod: KubeObject, child: ChildProcess, container: string): void {
    const { namespace, name } = pod.metadata;
    const startedAt = nowIso();
    const exited = new Promise<void>((resolve) => {
      child.on('error', (e) => this.logs.append(namespace!, name, container, `${e.message}\n`));
      child.on('close', (code, signal) => {
        const r = this.running.get(this.key(pod));
        if (r?.killTimer) clearTimeout(r.killTimer);
        this.running.delete(this.key(pod));
        const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
        this.finish(pod, exitCode, exitCode ? 'Error' : 'Completed', startedAt);
        resolve();
      });
    });
    for (const s of [child.stdout!, child.stderr!])
      s.on('data', (d: Buffer) => this.logs.append(namespace!, name, container, d.toString()));
    this.running.set(this.key(pod), { child, startedAt, exited });
    this.store.recordEvent(pod, 'Normal', 'Started', `Started container ${container}`);
    this.reportStatus(pod, 'Running', { running: { startedAt } }, startedAt);
  }

  /** A container this runtime cannot start: a Warning event, the reason in the log, the pod Failed. */
  private refuse(pod: KubeObject, message: string): void {
    this.store.recordEvent(pod, 'Warning', 'Failed', `Error: ${message}`);
    this.logs.append(
      pod.metadata.namespace!,
      pod.metadata.name,
      pod.spec.containers[0].name,
      `playground: ${message}\n`,
    );
    this.finish(pod, 128, 'StartError');
  }

  /** The container's end: terminated state and phase; a deleting (or deleted) pod's finalizer goes, and its files. */
  private finish(pod: KubeObject, exitCode: number, reason: string, startedAt = nowIso()): void {
    const terminated = { exitCode, reason, startedAt, finishedAt: nowIso() };
    this.reportStatus(pod, exitCode === 0 ? 'Succeeded' : 'Failed', { terminated }, startedAt);
    const cur = this.store.get('v1/pods', pod.metadata.namespace, pod.metadata.name);
    if (!cur || cur.metadata.deletionTimestamp) this.release(pod);
  }

  private release(pod: KubeObject): void {
    rmSync(this.podDir(pod), { recursive: true, force: true });
    this.store.mutate('v1/pods', pod.metadata.namespace, pod.metadata.name, (o) => {
      o.metadata.finalizers = o.metadata.finalizers?.filter((f) => f !== FINALIZER);
    });
  }

  private reportStatus(pod: KubeObject, phase: string, state: Record<string, unknown>, startTime: string): void {
    const c = pod.spec.containers[0];
    const ready = phase === 'Running';
    setStatus(this.store, pod, () => ({
      phase,
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime,
      conditions: conditions(ready, nowIso(), ready ? undefined : 'PodCompleted'),
      containerStatuses: [
        {
          name: c.name,
          image: c.image,
          imageID: '',
          ready,
          started: ready,
          restartCount: 0,
          state,
          containerID: `playground://${pod.metadata.uid}`,
        },
      ],
    }));
  }

  /** SIGTERM, then SIGKILL after the grace period; a pod without a process just loses the finalizer. */
  private terminate(pod: KubeObject, r: Running | undefined): void {
    if (!r) {
      if (pod.metadata.finalizers?.includes(FINALIZER)) this.release(pod);
      return;
    }
    if (r.killTimer) return;
    r.child.kill('SIGTERM');
    const grace = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    r.killTimer = setTimeout(() => r.child.kill('SIGKILL'), grace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch();
    this.unregister();
    const all = [...this.running.values()];
    for (const r of all) r.child.kill('SIGKILL');
    await Promise.all(all.map((r) => r.exited));
  }
}
