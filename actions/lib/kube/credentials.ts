// When the Kubernetes credentials of a kubeconfig stop working, read before anything is created,
// so a long run (the drill) can refuse or shorten itself and its teardown never runs without them:
//   - a bearer token (`token` or `tokenFile`) that is a JWT: its `exp` claim; an opaque one
//     (e.g. get-gke-credentials' access token) has no readable expiry: reported as unknown; the
//     in-cluster ServiceAccount's token file (rotated by the kubelet, re-read by the client) refreshes;
//   - an exec plugin: run once as the client would (KUBERNETES_EXEC_INFO, the plugin's env); its
//     ExecCredential's status.expirationTimestamp. The client re-runs the plugin when that passes
//     (@kubernetes/client-node's `exec_auth.js`@1.4.0 caches the credential until then), so it is a
//     refresh point, not an end; a plugin that fails now is an error now;
//   - a client certificate: its notAfter.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KubeConfig, User } from '@kubernetes/client-node';

export type CredentialKind = 'jwt' | 'opaque-token' | 'exec' | 'client-certificate' | 'none';

export interface CredentialLifetime {
  kind: CredentialKind;
  /** When this credential stops working (undefined: never, or not readable). */
  expiresAt?: Date;
  /** The client gets a new credential by itself when this one expires (exec plugins). */
  refreshes: boolean;
  /** What was read, for the log (never the secret itself). */
  source: string;
}

const EXEC_TIMEOUT_MS = 30_000;

/** The current user's credential lifetime. */
export async function credentialLifetime(kc: KubeConfig): Promise<CredentialLifetime> {
  const user = kc.getCurrentUser();
  if (!user) return { kind: 'none', refreshes: false, source: 'no user in the current context' };
  if (user.exec) return execLifetime(user);
  // client-node reads `token-file` into token when it loads the kubeconfig.
  if (user.token) return tokenLifetime(user.token, `user ${user.name}'s bearer token`);
  // In a pod (loadFromCluster): the ServiceAccount token file, which the kubelet rotates and client-node
  // re-reads every minute (file_auth.js@1.4.0), so its exp is a refresh point, not an end.
  const tokenFile = (user.authProvider as { config?: { tokenFile?: string } } | undefined)?.config?.tokenFile;
  if (tokenFile) {
    const life = tokenLifetime(readFileSync(tokenFile, 'utf8').trim(), `user ${user.name}'s token file ${tokenFile}`);
    return { ...life, refreshes: true };
  }
  const cert = user.certData
    ? Buffer.from(user.certData, 'base64')
    : user.certFile
      ? readFileSync(user.certFile)
      : undefined;
  if (cert) {
    const x = new X509Certificate(cert);
    return {
      kind: 'client-certificate',
      expiresAt: new Date(x.validTo),
      refreshes: false,
      source: `user ${user.name}'s client certificate`,
    };
  }
  return { kind: 'none', refreshes: false, source: `user ${user.name} has no token, plugin or certificate` };
}

/** A JWT's `exp` (seconds since the epoch), or undefined for a token that is not a JWT. */
export function jwtExpiry(token: string): Date | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

function tokenLifetime(token: string, source: string): CredentialLifetime {
  const expiresAt = jwtExpiry(token);
  if (expiresAt) return { kind: 'jwt', expiresAt, refreshes: false, source: `${source} (JWT exp)` };
  return { kind: 'opaque-token', refreshes: false, source: `${source} (not a JWT: its lifetime cannot be read)` };
}

interface ExecCredential {
  status?: { token?: string; expirationTimestamp?: string; clientCertificateData?: string };
}

/** kubeconfig users[].user.exec (client-node types it `any`). */
interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
}

async function execLifetime(user: User): Promise<CredentialLifetime> {
  const exec = user.exec as ExecConfig;
  const source = `user ${user.name}'s exec plugin ${exec.command}`;
  const cred = await runExecPlugin(exec);
  const stamp = cred.status?.expirationTimestamp;
  const expiresAt = stamp ? new Date(stamp) : undefined;
  if (expiresAt && Number.isNaN(expiresAt.getTime()))
    throw new Error(`${source} returned an invalid status.expirationTimestamp '${stamp}'.`);
  return { kind: 'exec', expiresAt, refreshes: true, source: `${source} (ExecCredential)` };
}

/** Runs the plugin as client-node does: its args and env on top of ours, KUBERNETES_EXEC_INFO set, no stdin. */
function runExecPlugin(exec: ExecConfig): Promise<ExecCredential> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
  return new Promise((resolve, reject) => {
    execFile(exec.command, exec.args ?? [], { env, timeout: EXEC_TIMEOUT_MS }, (err, stdout, stderr) => {
      const what = `the exec plugin ${exec.command}`;
      if (err) return reject(new Error(`${what} failed: ${(stderr || err.message).trim().slice(0, 500)}`));
      try {
        resolve(JSON.parse(stdout) as ExecCredential);
      } catch {
        reject(new Error(`${what} did not print an ExecCredential (JSON) on stdout.`));
      }
    });
  });
}

export interface CredentialPlan {
  action: 'ok' | 'shorten' | 'refuse';
  /** The run's deadline budget to use (shortened when action is 'shorten'). */
  timeoutMs: number;
  /** For the log or the error: what was found and what is done about it. */
  message: string;
}

export interface PlanOptions {
  now: number;
  /** The run's worst case for a given deadline budget (the drill: limits.ts drillWorstCaseMs). */
  worstCaseMs: (timeoutMs: number) => number;
  timeoutMs: number;
  /** Below this deadline budget a shortened run is pointless: refuse. */
  minTimeoutMs: number;
  /** 'fail': refuse instead of shortening. */
  policy: 'shorten' | 'fail';
  /** Kept between the end of the worst case and the expiry (clock skew, the post step). */
  marginMs: number;
}

const minutes = (ms: number) => `${Math.floor(ms / 60_000)} min`;

/** Whether the credential outlives the run: ok, a shorter deadline that fits, or a refusal saying the fix. */
export function planForCredentials(life: CredentialLifetime, o: PlanOptions): CredentialPlan {
  const worst = o.worstCaseMs(o.timeoutMs);
  if (!life.expiresAt || life.refreshes)
    return { action: 'ok', timeoutMs: o.timeoutMs, message: okMessage(life, worst) };
  const left = life.expiresAt.getTime() - o.now - o.marginMs;
  if (left >= worst) return { action: 'ok', timeoutMs: o.timeoutMs, message: okMessage(life, worst) };
  const at = `${life.source} expires at ${life.expiresAt.toISOString()}, in ${minutes(Math.max(0, left + o.marginMs))}`;
  const shortened = o.timeoutMs - (worst - left);
  const fix =
    'request credentials that outlive the run (a longer token, role-duration-seconds on EKS), or lower `timeout`, ' +
    '`statement-timeout` and `same-moment-wait`';
  if (o.policy === 'fail' || shortened < o.minTimeoutMs)
    return {
      action: 'refuse',
      timeoutMs: o.timeoutMs,
      message: `${at}, before the drill's worst case of ${minutes(worst)} (teardown would run without credentials): ${fix}.`,
    };
  return {
    action: 'shorten',
    timeoutMs: shortened,
    message:
      `${at}, before the drill's worst case of ${minutes(worst)}: timeout shortened ` +
      `from ${minutes(o.timeoutMs)} to ${minutes(shortened)} so teardown still has credentials; ${fix}.`,
  };
}

function okMessage(life: CredentialLifetime, worst: number): string {
  if (life.refreshes)
    return (
      `${life.source}: ${life.expiresAt ? `valid until ${life.expiresAt.toISOString()}, then` : ''} re-run by ` +
      `the client when needed (what it signs with must outlast the drill's worst case of ${minutes(worst)}).`
    );
  if (!life.expiresAt)
    return (
      `${life.source}: no expiry${life.kind === 'opaque-token' ? ' readable; it must outlast' : ' before'} ` +
      `the drill's worst case of ${minutes(worst)}.`
    );
  return `${life.source}: valid until ${life.expiresAt.toISOString()}, after the drill's worst case of ${minutes(worst)}.`;
}
