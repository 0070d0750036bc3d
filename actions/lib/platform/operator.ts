// The operator the platform chart ships: which Deployment it is, which version it runs (the
// image tag of its container), whether it is available, and the one-minor-at-a-time rule
// (reference drill item 10: an operator bump that never reached a cluster while runs were green).
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import semver from 'semver';
import type { KubeClients } from '../kube/client.js';
import { ignoreNotFound, sleep, withRetry } from '../kube/retry.js';
import type { ChartTree } from './chart-files.js';
import type { KubeObjectLike, RenderedObject } from './render.js';

const OPERATOR_HINT = /cloudnative-pg|cnpg/;

export interface OperatorTarget {
  name: string;
  namespace: string;
  /** The version the chart means to run: the input, else the appVersion of the chart holding the Deployment. */
  expectedVersion?: string;
  /** Where expectedVersion came from, for messages. */
  expectedFrom: string;
  /** Image tag the rendered Deployment sets (differs from appVersion when values pin a tag). */
  renderedTag?: string;
  /** False when the Deployment is not part of the chart (an operator installed some other way). */
  managedByChart: boolean;
  /** helm's source path of the rendered Deployment, when it is part of the chart. */
  source?: string;
}

export interface OperatorInput {
  operatorDeployment?: string;
  operatorNamespace?: string;
  expectedOperatorVersion?: string;
  namespace: string;
}

/**
 * Picks the operator Deployment: the `operator-deployment` input, else the rendered Deployment
 * whose name or app.kubernetes.io/name label mentions cloudnative-pg/cnpg.
 */
export function findOperator(
  rendered: RenderedObject[],
  tree: ChartTree,
  input: OperatorInput,
): OperatorTarget | undefined {
  const deployments = rendered.filter((r) => r.object.kind === 'Deployment' && r.object.apiVersion === 'apps/v1');
  const match = input.operatorDeployment
    ? deployments.find((d) => d.object.metadata.name === input.operatorDeployment)
    : deployments.find(
        (d) =>
          OPERATOR_HINT.test(d.object.metadata.name) ||
          OPERATOR_HINT.test(d.object.metadata.labels?.['app.kubernetes.io/name'] ?? ''),
      );
  if (!match && !input.operatorDeployment) return undefined;
  const namespace = input.operatorNamespace ?? match?.object.metadata.namespace ?? input.namespace;
  const meta = match ? tree.meta(match.source) : undefined;
  const expectedVersion = input.expectedOperatorVersion ?? normalise(meta?.appVersion);
  return {
    name: input.operatorDeployment ?? match!.object.metadata.name,
    namespace,
    expectedVersion,
    expectedFrom: input.expectedOperatorVersion
      ? 'input expected-operator-version'
      : meta
        ? `appVersion of chart ${meta.name} ${meta.version}`
        : 'nothing (the Deployment is not in the chart)',
    renderedTag: match ? imageTag(operatorContainerImage(match.object)) : undefined,
    managedByChart: !!match,
    source: match?.source,
  };
}

export interface RunningOperator {
  image: string;
  version: string;
  available: boolean;
  /** Why it is not available / not settled, e.g. "1 of 1 pods not ready: manager ImagePullBackOff". */
  problems: string[];
}

export async function readRunningOperator(
  clients: KubeClients,
  target: Pick<OperatorTarget, 'name' | 'namespace'>,
): Promise<RunningOperator | undefined> {
  const d = await withRetry('read operator Deployment', () =>
    ignoreNotFound(() => clients.apps.readNamespacedDeployment({ name: target.name, namespace: target.namespace })),
  );
  if (!d) return undefined;
  const image = operatorContainerImage(d as unknown as KubeObjectLike);
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = selector
    ? (
        await withRetry('list operator pods', () =>
          clients.core.listNamespacedPod({ namespace: target.namespace, labelSelector: selector }),
        )
      ).items
    : [];
  const problems = deploymentProblems(d, pods);
  return { image, version: normalise(imageTag(image)) ?? imageTag(image), available: problems.length === 0, problems };
}

/**
 * Reads the operator until its rollout has settled (kubectl rollout status's notion) or the deadline passes;
 * returns the last reading. Without helm's --wait the rollout is still under way when helm returns.
 * A Deployment set to the wrong version is returned at once.
 */
export async function waitForOperator(
  clients: KubeClients,
  target: Pick<OperatorTarget, 'name' | 'namespace' | 'expectedVersion'>,
  deadline: number,
  pollMs = 2_000,
): Promise<RunningOperator | undefined> {
  for (;;) {
    const running = await readRunningOperator(clients, target);
    const settled = running?.available;
    const wrongVersion = running && target.expectedVersion && !sameVersion(running.version, target.expectedVersion);
    if (!running || settled || wrongVersion || Date.now() + pollMs > deadline) return running;
    await sleep(pollMs);
  }
}

// kubectl rollout status's rules: a surge pod of the new template next to an old available one
// still counts as a rollout in progress, not as available.
function deploymentProblems(d: V1Deployment, pods: V1Pod[]): string[] {
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const updated = st.updatedReplicas ?? 0;
  const problems: string[] = [];
  if ((st.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
    problems.push('the Deployment controller has not observed the latest spec yet');
  if (updated < want) problems.push(`${updated} of ${want} replicas run the current template`);
  if ((st.replicas ?? 0) > updated) problems.push(`${(st.replicas ?? 0) - updated} old replica(s) pending termination`);
  if ((st.availableReplicas ?? 0) < updated || updated === 0)
    problems.push(`${Math.min(st.availableReplicas ?? 0, updated)} of ${want} updated replicas available`);
  const progressing = st.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (progressing) problems.push(`rollout exceeded its progress deadline: ${progressing.message}`);
  if (problems.length) {
    for (const p of pods) {
      for (const cs of p.status?.containerStatuses ?? []) {
        const waiting = cs.state?.waiting;
        if (waiting?.reason)
          problems.push(
            `pod ${p.metadata?.name} container ${cs.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`,
          );
      }
    }
  }
  return problems;
}

/** The operator's container: the one whose image names the operator, else the first. */
export function operatorContainerImage(obj: KubeObjectLike): string {
  const spec = (obj.spec ?? {}) as {
    template?: { spec?: { containers?: { image?: string }[] } };
    containers?: { image?: string }[];
  };
  const containers = spec.template?.spec?.containers ?? spec.containers ?? [];
  return (containers.find((c) => OPERATOR_HINT.test(c.image ?? '')) ?? containers[0])?.image ?? '';
}

/** `ghcr.io/x/y:1.27.1@sha256:...` -> `1.27.1`; an untagged image is `latest`. */
export function imageTag(image: string): string {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > lastSlash ? noDigest.slice(colon + 1) : 'latest';
}

function normalise(v: string | undefined): string | undefined {
  return v?.trim().replace(/^v(?=\d)/, '') || undefined;
}

/** Same version, ignoring a leading v and build suffixes such as -ubi9. */
export function sameVersion(a: string, b: string): boolean {
  const ca = semver.coerce(a);
  const cb = semver.coerce(b);
  return ca && cb ? ca.version === cb.version : a === b;
}

/**
 * CloudNativePG supports upgrading one minor at a time. Returns the problem when moving from
 * `running` to `target` skips minors (naming them) or changes the major.
 */
export function minorSkipProblem(running: string, target: string): string | undefined {
  const from = semver.coerce(running);
  const to = semver.coerce(target);
  if (!from || !to) return undefined;
  if (from.major !== to.major) {
    return (
      `the operator would move from ${running} to ${target}, a major ` +
      `version change; upgrade through the supported path one minor at a time.`
    );
  }
  const step = to.minor - from.minor;
  if (Math.abs(step) <= 1) return undefined;
  const dir = step > 0 ? 1 : -1;
  const between: string[] = [];
  for (let m = from.minor + dir; m !== to.minor; m += dir) between.push(`${from.major}.${m}`);
  return (
    `the operator would move from ${running} to ${target}, ` +
    `skipping ${between.join(', ')}; CloudNativePG supports one minor version at a time. ` +
    `Install ${between[0]} first (deploy the chart version that ships it), or set ` +
    `allow-minor-skip: true if you have checked the release notes of ${between.join(', ')}.`
  );
}
