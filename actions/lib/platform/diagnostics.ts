// What an operator needs when the upgrade or the verification fails: helm's release history,
// the release's pods with their container states, and the events that explain them (Warning
// events since the step started survive the pods a rollback deleted).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { Core } from '../core.js';
import type { KubeClients } from '../kube/client.js';
import { withRetry } from '../kube/retry.js';
import { markdownTable } from '../report/format.js';
import type { Helm } from './helm.js';
import { describeError } from '../errors.js';

export interface DiagnosticsRequest {
  release: string;
  namespaces: string[];
  /** Extra pod label selectors (the operator Deployment's), besides app.kubernetes.io/instance=<release>. */
  selectors: { namespace: string; labelSelector: string }[];
  since: Date;
}

export interface Diagnostics {
  markdown: string;
  /** One-line causes found (e.g. "pod x container manager: ImagePullBackOff ..."), for the failure message. */
  causes: string[];
}

export async function collectDiagnostics(
  core: Pick<Core, 'info' | 'startGroup' | 'endGroup'>,
  clients: KubeClients,
  helm: Helm,
  req: DiagnosticsRequest,
): Promise<Diagnostics> {
  const sections: string[] = [];
  const causes: string[] = [];
  // Each section on its own: what cannot be read is said so, the others still help.
  const guard = async (what: string, fn: () => Promise<string>) => {
    try {
      sections.push(await fn());
    } catch (err) {
      sections.push(`_${what}: could not be read (${describeError(err)})_\n`);
    }
  };
  const pods = new Map<string, V1Pod>();
  await guard('helm history', () => historySection(helm, req));
  await guard('pods', () => podsSection(clients, req, pods, causes));
  await guard('events', () => eventsSection(clients, req, pods, causes));
  const markdown = sections.join('\n');
  core.startGroup('Diagnostics: helm history, pods and events');
  core.info(markdown);
  core.endGroup();
  return { markdown, causes: [...new Set(causes)] };
}

async function historySection(helm: Helm, req: DiagnosticsRequest): Promise<string> {
  const res = await helm.run(['history', req.release, '--namespace', req.namespaces[0], '--max', '10', '-o', 'json'], {
    allowFailure: true,
  });
  if (res.exitCode !== 0) return `**helm history**: ${res.stderr.trim() || 'no history'}\n`;
  const rows = (
    JSON.parse(res.stdout || '[]') as {
      revision: number;
      status: string;
      chart: string;
      app_version: string;
      description: string;
      updated: string;
    }[]
  ).map((h) => [h.revision, h.status, h.chart, h.app_version, h.description]);
  return `**helm history ${req.release}**\n\n${markdownTable(['revision', 'status', 'chart', 'app version', 'description'], rows)}`;
}

/** The release's pods (and the operator's), into `pods`; a waiting container is a cause. */
async function podsSection(
  clients: KubeClients,
  req: DiagnosticsRequest,
  pods: Map<string, V1Pod>,
  causes: string[],
): Promise<string> {
  const queries = [
    ...req.namespaces.map((namespace) => ({ namespace, labelSelector: `app.kubernetes.io/instance=${req.release}` })),
    ...req.selectors,
  ];
  for (const q of queries) {
    const list = await withRetry('list pods', () => clients.core.listNamespacedPod(q));
    for (const p of list.items) pods.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  }
  const rows = [...pods.values()].map((p) => {
    const states = (p.status?.containerStatuses ?? []).map((cs) => {
      const w = cs.state?.waiting;
      const t = cs.state?.terminated;
      if (w?.reason)
        causes.push(`pod ${p.metadata?.name} container ${cs.name}: ${w.reason}${w.message ? ` (${w.message})` : ''}`);
      return `${cs.name}: ${w?.reason ?? (t ? `terminated ${t.reason}` : cs.ready ? 'ready' : 'running, not ready')}`;
    });
    const image = p.spec?.containers?.map((c) => c.image).join(', ');
    return [`${p.metadata?.namespace}/${p.metadata?.name}`, p.status?.phase, states.join('; ') || '-', image];
  });
  return `**pods of the release**\n\n${rows.length ? markdownTable(['pod', 'phase', 'containers', 'image'], rows) : '_none_\n'}`;
}

/** Events of those pods, and Warning events since the step started; a Warning is a cause. */
async function eventsSection(
  clients: KubeClients,
  req: DiagnosticsRequest,
  pods: Map<string, V1Pod>,
  causes: string[],
): Promise<string> {
  const events: CoreV1Event[] = [];
  for (const namespace of req.namespaces)
    events.push(...(await withRetry('list events', () => clients.core.listNamespacedEvent({ namespace }))).items);
  // Event timestamps have whole-second precision: compare from the start of that second.
  const since = Math.floor(req.since.getTime() / 1000) * 1000;
  const relevant = events
    .filter(
      (e) =>
        pods.has(`${e.involvedObject.namespace}/${e.involvedObject.name}`) ||
        (e.type === 'Warning' && eventTime(e) >= since),
    )
    .sort((a, b) => eventTime(a) - eventTime(b))
    .slice(-30);
  for (const e of relevant)
    if (e.type === 'Warning')
      causes.push(`${e.involvedObject.kind} ${e.involvedObject.name}: ${e.reason}: ${e.message}`);
  const rows = relevant.map((e) => [
    new Date(eventTime(e)).toISOString(),
    e.type,
    `${e.involvedObject.kind}/${e.involvedObject.name}`,
    e.reason,
    e.message,
    e.count ?? 1,
  ]);
  return `**events**\n\n${rows.length ? markdownTable(['time', 'type', 'object', 'reason', 'message', 'count'], rows) : '_none_\n'}`;
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t as unknown as string).getTime() : 0;
}
