// The drill's inputs, read and validated all at once before anything touches the cluster:
// a bad value fails with one InputError naming the input and the fix.
import { parse as parseYaml } from 'yaml';
import type { Core } from '../core.js';
import { describeError } from '../errors.js';
import { InputError, Inputs } from '../inputs.js';
import { DRILL_INPUTS } from './input-spec.js';
import type { Resources } from '../cnpg/types.js';
import type { ConnectMode } from '../postgres/cluster-connection.js';
import type { VerifyMode } from '../postgres/verify.js';
import { parseQualifiedName } from '../postgres/ident.js';
import type { TableRef } from '../postgres/schema.js';
import type { LiveCounts } from './compare.js';
import { parseRecoveryTarget, type TargetInput } from './targets.js';
import { parseChecks, type UserCheck } from '../postgres/content-checks.js';

export type SlackOn = 'failure' | 'always' | 'never';

export interface DrillInputs {
  cluster: string;
  namespace: string;
  kubeconfig?: string;
  /** Sandbox namespace for the recovery cluster (default: the live namespace, or its name at the recovery site). */
  recoveryNamespace?: string;
  /** Another Kubernetes cluster for the recovery (the disaster-recovery site). */
  recoveryKubeconfig?: string;
  recoveryContext?: string;
  connectionMode: ConnectMode;
  /** In-tree: the Secret the recovery reads the archive with instead of live's (recovery-credentials.ts). */
  recoveryCredentialsSecret?: string;
  /** Plugin: the ObjectStore the recovery reads the archive through instead of live's. */
  recoveryObjectStore?: string;
  credentialsSecret?: string;
  /** Databases to compare; empty = the cluster's application database. */
  databases: string[];
  liveCounts: LiveCounts;
  liveExactMaxBytes: number;
  /** counts (row counts) or content (row digests too: content-live.ts, content-compare.ts). */
  compare: 'counts' | 'content';
  /** compare content: live tables larger than this are compared by counts only. */
  contentMaxBytes: number;
  /** `schema.table` whose key values are hashed in the report. */
  /** As PostgreSQL resolves the names written (unquoted: lower case). */
  contentSensitiveKeys: TableRef[];
  checks: UserCheck[];
  verify: VerifyMode;
  countConcurrency: number;
  tolerance: number;
  floor: number;
  maxBackupAgeMs: number;
  restorePoint: boolean;
  /** `recovery-target` (targets.ts). */
  target: TargetInput;
  /** How long to wait for live's counting-snapshot WAL position to be archived (0 = never pin). */
  sameMomentWaitMs: number;
  /** Judge row counts against live (default: only for latest and restore-point). */
  judgeCounts: boolean;
  storageClass?: string;
  recoveryResources?: Resources;
  timeoutMs: number;
  /** No new WAL restored for this long while the restore runs: stalled (0 = never). */
  stallTimeoutMs: number;
  statementTimeoutMs: number;
  sweepTtlMs: number;
  keepOnFailure: boolean;
  recordHistory: boolean;
  historySize: number;
  slack: {
    webhookUrl?: string;
    token?: string;
    channel?: string;
    threadTs?: string;
    apiUrl?: string;
    environment?: string;
    on: SlackOn;
    /** Write the payload into the job summary instead of sending it. */
    preview: boolean;
    /** Mention markup put on failure and error only. */
    mention?: string;
    /** A Slack failure fails the step (default: a warning). */
    errors: boolean;
  };
  /** Where the drill's Prometheus metrics go (metrics.ts): a Pushgateway, a textfile, or nowhere. */
  metrics: { pushgatewayUrl?: string; textfile?: string };
  /** What to do when the credentials expire before the drill's worst case (credentials.ts). */
  onShortCredentials: ShortCredentials;
}

export type ShortCredentials = 'shorten' | 'fail';

/** Slack mention markup: users, user groups, @here/@channel, space separated. */
const MENTION =
  /^(<@[UW][A-Z0-9]+>|<!subteam\^[A-Z0-9]+>|<!here>|<!channel>)(\s+(<@[UW][A-Z0-9]+>|<!subteam\^[A-Z0-9]+>|<!here>|<!channel>))*$/;

export function readDrillInputs(core: Pick<Core, 'getInput' | 'setSecret'>): DrillInputs {
  const i = new Inputs(core, DRILL_INPUTS);
  const where = readWhere(i, core);
  const slack = readSlackInputs(i, core);
  if (i.optional('count-mode')) {
    throw new InputError(
      'count-mode',
      'was replaced: the restore is always counted in full; choose how ' +
        'live is counted with live-counts (auto, exact, estimate or replica).',
    );
  }

  const target = parseRecoveryTarget(
    i.optional('recovery-target'),
    i.optional('recovery-target-seed'),
    i.boolean('restore-point'),
  );

  return {
    ...where,
    ...readRecoveryArchiveInputs(i),
    connectionMode: i.choice<ConnectMode>('connection-mode', ['port-forward', 'direct']),
    liveCounts: i.choice<LiveCounts>('live-counts', ['auto', 'exact', 'estimate', 'replica']),
    liveExactMaxBytes: byteSize(i, 'live-exact-max-size'),
    ...readContentInputs(i, where.databases),
    verify: i.choice<VerifyMode>('verify', ['amcheck', 'heap', 'off']),
    countConcurrency: i.number('count-concurrency', undefined, { min: 1, max: 32, integer: true }),
    tolerance: i.number('row-count-tolerance', undefined, { min: 0, max: 1 }),
    floor: i.number('row-count-floor', undefined, { min: 0, integer: true }),
    maxBackupAgeMs: positive(i, 'max-backup-age'),
    restorePoint: target.kind === 'restore-point',
    target,
    sameMomentWaitMs: nonNegative(i, 'same-moment-wait'),
    judgeCounts: i.boolean('judge-counts', target.kind === 'latest' || target.kind === 'restore-point'),
    recoveryResources: parseResources(i.optional('recovery-resources')),
    timeoutMs: positive(i, 'timeout'),
    stallTimeoutMs: stallTimeout(i),
    statementTimeoutMs: positive(i, 'statement-timeout'),
    sweepTtlMs: positive(i, 'sweep-ttl'),
    keepOnFailure: i.boolean('keep-on-failure'),
    recordHistory: i.boolean('record-history'),
    historySize: i.number('history-size', undefined, { min: 1, max: 200, integer: true }),
    slack,
    metrics: readMetricsInputs(i),
    onShortCredentials: i.choice<ShortCredentials>('on-short-credentials', ['shorten', 'fail']),
  };
}

function readMetricsInputs(i: Inputs): DrillInputs['metrics'] {
  const pushgatewayUrl = i.optional('metrics-pushgateway-url');
  if (pushgatewayUrl && !/^https?:\/\/[^/]/.test(pushgatewayUrl))
    throw new InputError(
      'metrics-pushgateway-url',
      `'${pushgatewayUrl}' is not an http(s) URL, e.g. http://pushgateway:9091.`,
    );
  return { pushgatewayUrl, textfile: i.optional('metrics-textfile') };
}

type Where = 'cluster' | 'namespace' | 'kubeconfig' | 'recoveryNamespace' | 'recoveryKubeconfig' | 'recoveryContext';

/** The names: what to drill, where to restore, with which credentials (validated, secrets masked). */
function readWhere(
  i: Inputs,
  core: Pick<Core, 'setSecret'>,
): Pick<DrillInputs, Where | 'storageClass' | 'credentialsSecret' | 'databases'> {
  const cluster = i.kubeName(
    'cluster',
    i.required('cluster', 'name the live CNPG Cluster to drill, e.g. `cluster: pg-main`'),
  );
  const namespace = i.kubeName(
    'namespace',
    i.required('namespace', 'name the namespace of the live Cluster explicitly, e.g. `namespace: databases`'),
  );
  const kubeconfig = i.optional('kubeconfig');
  if (kubeconfig) core.setSecret(kubeconfig);
  const recoveryNamespace = i.optional('recovery-namespace');
  if (recoveryNamespace) i.kubeName('recovery-namespace', recoveryNamespace);
  const recoveryKubeconfig = i.optional('recovery-kubeconfig');
  if (recoveryKubeconfig) core.setSecret(recoveryKubeconfig);
  const recoveryContext = i.optional('recovery-context');
  const storageClass = i.optional('storage-class');
  if (storageClass) i.kubeName('storage-class', storageClass);
  const credentialsSecret = i.optional('credentials-secret');
  if (credentialsSecret) i.kubeName('credentials-secret', credentialsSecret);
  const databases = i.list('databases');
  for (const d of databases) {
    if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(d))
      throw new InputError('databases', `'${d}' is not a database name; list names separated by commas or newlines.`);
  }

  return {
    cluster,
    namespace,
    kubeconfig,
    recoveryNamespace,
    recoveryKubeconfig,
    recoveryContext,
    storageClass,
    credentialsSecret,
    databases,
  };
}

/** recovery-credentials-secret or recovery-object-store: one of them, never both (one is for each backup method). */
function readRecoveryArchiveInputs(i: Inputs): Pick<DrillInputs, 'recoveryCredentialsSecret' | 'recoveryObjectStore'> {
  const recoveryCredentialsSecret = i.optional('recovery-credentials-secret');
  const recoveryObjectStore = i.optional('recovery-object-store');
  if (recoveryCredentialsSecret && recoveryObjectStore)
    throw new InputError(
      'recovery-object-store',
      "is set together with recovery-credentials-secret; set only the one for the live cluster's backup method: " +
        'recovery-object-store for the Barman Cloud plugin, recovery-credentials-secret for spec.backup.barmanObjectStore.',
    );
  if (recoveryCredentialsSecret) i.kubeName('recovery-credentials-secret', recoveryCredentialsSecret);
  if (recoveryObjectStore) i.kubeName('recovery-object-store', recoveryObjectStore);
  return { recoveryCredentialsSecret, recoveryObjectStore };
}

/**
 * Slack as far as it can be read when other inputs are bad (to tell Slack about them): a bad slack-on
 * falls back to its default; bad Slack inputs themselves leave no one to tell (the step still fails).
 */
export function readSlackInputsLeniently(core: Pick<Core, 'getInput' | 'setSecret'>): DrillInputs['slack'] {
  const lenient = { ...core, getInput: (name: string) => (name === 'slack-on' ? '' : core.getInput(name)) };
  for (const c of [core, lenient]) {
    try {
      return readSlackInputs(new Inputs(c, DRILL_INPUTS), core);
    } catch {
      // try the next reading
    }
  }
  return { on: 'never', preview: false, errors: false };
}

/** Slack: an incoming webhook or a bot token with a channel (and optionally a thread), masked. */
function readSlackInputs(i: Inputs, core: Pick<Core, 'setSecret'>): DrillInputs['slack'] {
  const slackOn = i.choice<SlackOn>('slack-on', ['failure', 'always', 'never']);
  const webhookUrl = i.optional('slack-webhook-url');
  const token = i.optional('slack-bot-token');
  if (webhookUrl) core.setSecret(webhookUrl);
  if (token) core.setSecret(token);
  const channel = i.optional('slack-channel');
  if (webhookUrl && !/^https?:\/\//.test(webhookUrl))
    throw new InputError('slack-webhook-url', 'is not an http(s) URL; pass the incoming webhook URL from a secret.');
  if (token && !channel)
    throw new InputError(
      'slack-channel',
      'is required with slack-bot-token; name the channel (e.g. C0123456789 or #ops).',
    );
  const apiUrl = i.optional('slack-api-url');
  const threadTs = i.optional('slack-thread-ts');
  if (threadTs && !token)
    throw new InputError('slack-thread-ts', 'needs slack-bot-token (incoming webhooks cannot reply in a thread).');
  // Where the drill ran, for the message: the environment input, else the kubeconfig context.
  const environment = i.optional('environment') ?? i.optional('context');
  const mention = i.optional('slack-mention');
  if (mention && !MENTION.test(mention))
    throw new InputError(
      'slack-mention',
      `'${mention}' is not Slack mention markup; use <!subteam^S0123ABC> (a user group), <@U0123ABC> (a user), <!here> or <!channel>.`,
    );
  const preview = i.boolean('slack-preview');
  const errors = i.boolean('slack-errors');
  return { webhookUrl, token, channel, threadTs, apiUrl, environment, on: slackOn, preview, mention, errors };
}

function positive(i: Inputs, name: string): number {
  const ms = i.duration(name);
  if (ms <= 0) throw new InputError(name, 'must be longer than zero; use e.g. 90s, 30m, 2h or 7d.');
  return ms;
}

function nonNegative(i: Inputs, name: string): number {
  const ms = i.duration(name);
  if (ms < 0) throw new InputError(name, 'must not be negative; use e.g. 6m, or 0 to turn it off.');
  return ms;
}

function stallTimeout(i: Inputs): number {
  const ms = i.duration('stall-timeout');
  if (ms < 0)
    throw new InputError('stall-timeout', 'must not be negative; use e.g. 10m, or 0 to never report a stall.');
  return ms;
}

const BYTE_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** A size in bytes: a whole number with an optional Ki, Mi, Gi or Ti suffix (as Kubernetes writes sizes). */
function byteSize(i: Inputs, name: string): number {
  const v = i.string(name);
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti)?$/.exec(v);
  if (!m) throw new InputError(name, `'${v}' is not a size; use e.g. 256Mi, 1Gi or a number of bytes.`);
  return Number(m[1]) * BYTE_UNITS[m[2] ?? ''];
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** `recovery-resources`: JSON or YAML `{requests: {cpu, memory}, limits: {...}}`. */
export function parseResources(text: string | undefined): Resources | undefined {
  if (!text) return undefined;
  const fail = (why: string): never => {
    throw new InputError(
      'recovery-resources',
      `${why}; give JSON or YAML like {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}.`,
    );
  };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return fail(`is not valid JSON/YAML (${describeError(err).split('\n')[0]})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return fail('is not a mapping');
  const out: Resources = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (k !== 'requests' && k !== 'limits') return fail(`has unknown key '${k}' (only requests and limits)`);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return fail(`'${k}' is not a mapping`);
    const m: Record<string, string> = {};
    for (const [res, q] of Object.entries(v as Record<string, unknown>)) {
      if (!QUANTITY.test(String(q))) return fail(`'${k}.${res}' = '${q}' is not a Kubernetes quantity`);
      m[res] = String(q);
    }
    out[k] = m;
  }
  return out;
}

/** compare, content-max-size, content-sensitive-keys, checks. */
function readContentInputs(
  i: Inputs,
  databases: string[],
): Pick<DrillInputs, 'compare' | 'contentMaxBytes' | 'contentSensitiveKeys' | 'checks'> {
  const contentSensitiveKeys = i.list('content-sensitive-keys').map((t) => {
    const ref = parseQualifiedName(t);
    if (!ref)
      throw new InputError(
        'content-sensitive-keys',
        `'${t}' is not schema.table; list tables like public.users, or "Sales"."Orders" for names created quoted.`,
      );
    return ref;
  });
  return {
    compare: i.choice<'counts' | 'content'>('compare', ['counts', 'content']),
    contentMaxBytes: byteSize(i, 'content-max-size'),
    contentSensitiveKeys,
    checks: parseChecks(i.optional('checks'), databases),
  };
}
