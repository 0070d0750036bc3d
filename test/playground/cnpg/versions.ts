// What differs between the CloudNativePG versions the playground emulates (1.25.0..1.30.x, `main`
// and `main+pr11319`), each rule as test/playground/CONFORMANCE.md section 6.v states it with its upstream
// file@tag. Behaviour asks these predicates, never compares version strings itself.
import type { Timing } from '../timing.js';

/**
 * The released range plus trunk: `main` is upstream main (1.31.0-dev, still bootstrapping with Jobs:
 * pkg/specs/jobs.go@main); `main+pr11319` is main with the unreleased PR #11319 (in-pod bootstrap).
 */
export const OLDEST_VERSION = '1.25.0';
export const NEWEST_RELEASE = '1.30.0';
export const TRUNK = 'main';
export const TRUNK_INPOD = 'main+pr11319';

interface Parsed {
  major: number;
  minor: number;
  patch: number;
  trunk: boolean;
  /** PR #11319: bootstrap in the instance pod's `bootstrap-instance` init container. */
  inPod: boolean;
}

export class UnsupportedVersion extends Error {}

export function parseOperatorVersion(v: string): Parsed {
  const s = v.trim().replace(/^v/, '');
  if (s === TRUNK || s === TRUNK_INPOD) return { major: 1, minor: 31, patch: 0, trunk: true, inPod: s === TRUNK_INPOD };
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(s);
  const p = m ? { major: +m[1], minor: +m[2], patch: +m[3], trunk: false, inPod: false } : undefined;
  if (!p || p.major !== 1 || p.minor < 25 || p.minor > 30) {
    throw new UnsupportedVersion(
      `operator version '${v}' is not emulated; use a release from ${OLDEST_VERSION} to 1.30.x (e.g. 1.25.4, 1.28.3, ${NEWEST_RELEASE}), '${TRUNK}' or '${TRUNK_INPOD}'.`,
    );
  }
  return p;
}

const atLeast = (p: Parsed, minor: number, patch: number) => p.minor > minor || (p.minor === minor && p.patch >= patch);

/** Whether the emulated version `v` is `min` (x.y.z) or later; `main` counts as 1.31.0. */
export function versionAtLeast(v: string, min: string): boolean {
  const [maj, minor, patch] = min.split('.').map(Number);
  const p = parseOperatorVersion(v);
  return p.major > maj || (p.major === maj && atLeast(p, minor, patch ?? 0));
}

/** Releases and upstream main bootstrap with Jobs; main+pr11319 with the `bootstrap-instance` init container. */
export function bootstrapMode(v: string): 'job' | 'in-pod' {
  return parseOperatorVersion(v).inPod ? 'in-pod' : 'job';
}

/** From 1.28.4 / 1.29.2 / 1.30.0 a Failed bootstrap Job makes the Cluster unrecoverable. */
export function surfacesFailedJobs(v: string): boolean {
  const p = parseOperatorVersion(v);
  if (p.minor === 28) return p.patch >= 4;
  if (p.minor === 29) return p.patch >= 2;
  return p.minor >= 30;
}

/** The -app Secret's fqdn-uri / fqdn-jdbc-uri: 1.25.3, 1.26.1, 1.27.0 on (backport #7852, pkg/specs/secrets.go). */
export function hasFqdnSecretKeys(v: string): boolean {
  const p = parseOperatorVersion(v);
  if (p.minor === 25) return p.patch >= 3;
  if (p.minor === 26) return p.patch >= 1;
  return p.minor >= 27;
}

/** The Barman Cloud plugin needs CNPG 1.26 or later (plugin-barman-cloud web/docs/intro.md). */
export function pluginsSupported(v: string): boolean {
  return atLeast(parseOperatorVersion(v), 26, 0);
}

/** The release each version's webhook names for the removal of in-tree Barman Cloud (none before 1.26). */
export function inTreeRemovalRelease(v: string): string | undefined {
  const p = parseOperatorVersion(v);
  if (p.trunk) return '1.31.0';
  const byMinor: Record<number, [number, string][]> = {
    26: [
      [2, '1.29.0'],
      [0, '1.28.0'],
    ],
    27: [
      [4, '1.30.0'],
      [1, '1.29.0'],
      [0, '1.28.0'],
    ],
    28: [
      [4, '1.31.0'],
      [2, '1.30.0'],
      [0, '1.29.0'],
    ],
    29: [
      [2, '1.31.0'],
      [0, '1.30.0'],
    ],
    30: [[0, '1.31.0']],
  };
  return byMinor[p.minor]?.find(([from]) => p.patch >= from)?.[1];
}

/** The admission warning for a Cluster that still uses in-tree Barman Cloud, as the version words it. */
export function inTreeBarmanWarning(v: string, paths: string[]): string | undefined {
  const release = inTreeRemovalRelease(v);
  if (!release || !paths.length) return undefined;
  return (
    `Native support for Barman Cloud backups and recovery is deprecated and will be completely removed in CloudNativePG ${release}. ` +
    `Found usage in: ${paths.join(', ')}. Please migrate existing clusters to the new Barman Cloud Plugin to ensure a smooth transition.`
  );
}

/** The spec paths that use in-tree Barman Cloud, as upstream lists them. */
export function inTreeBarmanPaths(spec: any): string[] {
  const out: string[] = [];
  if (spec?.backup?.barmanObjectStore) out.push('spec.backup.barmanObjectStore');
  (spec?.externalClusters ?? []).forEach((c: any, i: number) => {
    if (c?.barmanObjectStore) out.push(`spec.externalClusters.${i}.barmanObjectStore`);
  });
  return out;
}

/** Time in the playground runs this much faster than on a cluster (as the Job controller's back-off). */
export const TIME_SCALE = 1 / 20;

/** The kubelet's CrashLoopBackOff before restart n (1-based): 10 s doubling, cap 5 min; scaled. */
export function crashLoopBackOffMs(restart: number, timeScale = TIME_SCALE): number {
  return Math.min(10_000 * 2 ** Math.max(0, restart - 1), 300_000) * timeScale;
}

/** A container's back-off entry: its current delay and when it was last extended. */
export interface CrashBackOff {
  delayMs: number;
  at: number;
}

/**
 * The kubelet's per-container back-off after a crash (client-go util/flowcontrol/backoff.go `Next`, with
 * pkg/kubelet/kubelet.go backOffPeriod 10 s and MaxContainerBackOff 300 s): the initial delay, doubled on
 * each crash up to the cap, and back to the initial one once the last back-off is older than twice the
 * cap (a container that ran 10 minutes). `initialMs` and `maxMs` in the playground's time.
 */
export function nextCrashBackOff(
  prev: CrashBackOff | undefined,
  now: number,
  { initialMs, maxMs }: { initialMs: number; maxMs: number },
): CrashBackOff {
  const expired = !prev || now - prev.at > 2 * maxMs;
  return { delayMs: expired ? initialMs : Math.min(prev.delayMs * 2, maxMs), at: now };
}

/**
 * The wait before a crashed instance's postgres starts again: with seeded timing the kubelet's back-off
 * (nextCrashBackOff, compressed) plus the wait for its next pod sync (`crashLoopSync`); fixed timing keeps
 * the playground's earlier real-time 10 s doubling by restart count. `initialMs` (a test's
 * crashRestartDelayMs) replaces the first step in both.
 */
export function crashRestartDelay(
  timing: Timing,
  state: { restartCount: number; backOff?: CrashBackOff; initialMs?: number },
  now = Date.now(),
): { delayMs: number; backOff?: CrashBackOff } {
  if (timing.mode === 'fixed') {
    const base = state.initialMs ?? 10_000;
    return { delayMs: Math.min(base * 2 ** Math.max(0, state.restartCount - 1), 300_000) };
  }
  const initialMs = state.initialMs ?? crashLoopBackOffMs(1);
  const backOff = nextCrashBackOff(state.backOff, now, {
    initialMs,
    maxMs: Math.max(initialMs, crashLoopBackOffMs(Infinity)),
  });
  return { delayMs: backOff.delayMs + timing.delay('crashLoopSync'), backOff };
}
