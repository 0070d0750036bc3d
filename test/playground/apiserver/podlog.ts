// GET pods/<name>/log: container selection as the kubelet does, tailLines, follow (until
// the pod is gone or the client hangs up).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type KubeObject, type PodLogs } from '../types.js';
import type { MemStore } from './store.js';

function pickContainer(pod: KubeObject, requested: string | null): string {
  const names: string[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
    (c: { name: string }) => c.name,
  );
  if (requested) {
    if (!names.includes(requested)) {
      throw new ApiError(400, 'BadRequest', `container ${requested} is not valid for pod ${pod.metadata.name}`);
    }
    return requested;
  }
  const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const preferred = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (preferred && containers.includes(preferred)) return preferred;
  if (containers.length === 1) return containers[0];
  throw new ApiError(
    400,
    'BadRequest',
    `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`,
  );
}

function tail(text: string, lines: number): string {
  const parts = text.split('\n');
  const trailing = parts[parts.length - 1] === '' ? parts.pop() : undefined;
  const kept = parts.slice(Math.max(0, parts.length - lines));
  return kept.join('\n') + (trailing !== undefined && kept.length ? '\n' : '');
}

export function servePodLog(
  store: MemStore,
  logs: PodLogs,
  namespace: string,
  name: string,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const pod = store.get('v1/pods', namespace, name);
  if (!pod) throw new ApiError(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
  const container = pickContainer(pod, q.get('container'));
  let text = logs.read(namespace, name, container);
  const tailLines = q.get('tailLines');
  if (tailLines !== null) text = tail(text, Number(tailLines));
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  res.write(text);
  if (q.get('follow') !== 'true' && q.get('follow') !== '1') {
    res.end();
    return;
  }
  const unsubscribe = logs.subscribe(namespace, name, container, (t) => res.write(t));
  const stopWatch = store.watch(
    'v1/pods',
    namespace,
    { fieldSelector: `metadata.name=${name}`, resourceVersion: pod.metadata.resourceVersion },
    (ev) => {
      if (ev.type === 'DELETED') end();
    },
  );
  function end() {
    unsubscribe();
    stopWatch();
    if (!res.writableEnded) res.end();
  }
  req.on('close', end);
}
