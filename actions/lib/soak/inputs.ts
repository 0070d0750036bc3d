// The soak gate's inputs, all validated before anything is read or written: a bad one is
// an InputError naming the input and the fix.
import type { Core } from '../core.js';
import { InputError, Inputs } from '../inputs.js';
import type { ConnectMode } from '../postgres/cluster-connection.js';
import type { CountMode } from '../postgres/rowcounts.js';
import { parseTablePattern, type TablePattern } from './tables.js';

export interface SoakInputs {
  cluster: string;
  namespace: string;
  /** Subscriber database; default: the cluster secret's dbname. */
  database?: string;
  subscription: string;
  publisherSecret: string;
  publisherSecretNamespace: string;
  publication: string;
  soakMs: number;
  maxSubscriberLagBytes: number;
  maxSlotRetainedBytes: number;
  maxMessageAgeMs: number;
  rowCountTolerance: number;
  rowCountFloor: number;
  rowCountMode: CountMode;
  drillMaxAgeMs: number;
  drillWorkflow?: string;
  githubToken?: string;
  exclude: TablePattern[];
  maxSampleGapMs: number;
  historySize: number;
  failOnBlock: boolean;
  kubeconfig?: string;
  connectionMode: ConnectMode;
  statementTimeoutMs: number;
}

/** Largest history that fits a ConfigMap (1 MiB) with room to spare: a sample is ~200 bytes. */
export const MAX_HISTORY_SIZE = 2000;

export function readSoakInputs(core: Pick<Core, 'getInput' | 'setSecret'>): SoakInputs {
  const i = new Inputs(core);
  const githubToken = i.optional('github-token');
  if (githubToken) core.setSecret(githubToken);
  const kubeconfig = i.optional('kubeconfig');
  if (kubeconfig) core.setSecret(kubeconfig);
  const namespace = i.kubeName('namespace', i.string('namespace', 'default'));
  const soakHours = i.number('soak-hours', 72, { min: 0.01, max: 24 * 365 });
  // Read in this order (the first bad input is the one reported); the spreads keep it.
  const inputs: SoakInputs = {
    ...readReplication(i, namespace),
    soakMs: soakHours * 3_600_000,
    ...readThresholds(i),
    drillWorkflow: i.optional('drill-workflow'),
    githubToken,
    exclude: readExcludedTables(i),
    maxSampleGapMs: positiveDuration(i, 'max-sample-gap', '2h'),
    historySize: i.number('history-size', 500, { min: 2, max: MAX_HISTORY_SIZE, integer: true }),
    failOnBlock: i.boolean('fail-on-block', true),
    kubeconfig,
    connectionMode: i.choice('connection-mode', ['port-forward', 'direct'] as const, 'port-forward'),
    statementTimeoutMs: positiveDuration(i, 'statement-timeout', '30s'),
  };
  checkCombinations(inputs);
  return inputs;
}

/** The subscriber Cluster and subscription, and the publisher they replicate from. */
function readReplication(
  i: Inputs,
  namespace: string,
): Pick<
  SoakInputs,
  'cluster' | 'namespace' | 'database' | 'subscription' | 'publisherSecret' | 'publisherSecretNamespace' | 'publication'
> {
  return {
    cluster: i.kubeName('cluster', i.required('cluster', 'name the subscriber CNPG Cluster')),
    namespace,
    database: optionalIdentifier(i, 'database'),
    subscription: identifier(
      'subscription',
      i.required('subscription', 'name the subscription on the subscriber database (pg_subscription.subname)'),
    ),
    publisherSecret: kubeSecretName(
      'publisher-secret',
      i.required(
        'publisher-secret',
        'name the Secret holding the publisher connection (host, port, username, password, dbname, or uri)',
      ),
    ),
    publisherSecretNamespace: i.kubeName(
      'publisher-secret-namespace',
      i.string('publisher-secret-namespace', namespace),
    ),
    publication: identifier(
      'publication',
      i.required('publication', 'name the publication on the publisher (pg_publication.pubname)'),
    ),
  };
}

/** What the gate tolerates: lag, retained WAL, message age, row-count drift, drill age. */
function readThresholds(
  i: Inputs,
): Pick<
  SoakInputs,
  | 'maxSubscriberLagBytes'
  | 'maxSlotRetainedBytes'
  | 'maxMessageAgeMs'
  | 'rowCountTolerance'
  | 'rowCountFloor'
  | 'rowCountMode'
  | 'drillMaxAgeMs'
> {
  return {
    maxSubscriberLagBytes: bytes(i, 'max-subscriber-lag-bytes', '1MiB'),
    maxSlotRetainedBytes: bytes(i, 'max-slot-retained-bytes', '64MiB'),
    maxMessageAgeMs: positiveDuration(i, 'max-message-age', '5m'),
    rowCountTolerance: i.number('row-count-tolerance', 0.001, { min: 0, max: 1 }),
    rowCountFloor: i.number('row-count-floor', 10, { min: 0, integer: true }),
    rowCountMode: i.choice('row-count-mode', ['exact', 'estimate', 'auto'] as const, 'exact'),
    drillMaxAgeMs: positiveDuration(i, 'drill-max-age', '8d'),
  };
}

function readExcludedTables(i: Inputs): TablePattern[] {
  return i.list('exclude-tables').map((p) => {
    const pattern = parseTablePattern(p);
    if (!pattern)
      throw new InputError(
        'exclude-tables',
        `'${p}' is not a table pattern; use table, schema.table or schema.* (one per line or comma-separated).`,
      );
    return pattern;
  });
}

/** Inputs that are each valid but do not fit together. */
function checkCombinations(inputs: SoakInputs): void {
  if (inputs.drillWorkflow && !inputs.githubToken) {
    throw new InputError(
      'github-token',
      'is required when drill-workflow is set; pass `${{ github.token }}` (needs actions: read).',
    );
  }
  if (inputs.drillWorkflow && !/^[\w.-]+\.ya?ml$|^\d+$/.test(inputs.drillWorkflow)) {
    throw new InputError(
      'drill-workflow',
      `'${inputs.drillWorkflow}' is neither a workflow file name (e.g. cnpg-restore-drill.yml) nor a numeric workflow id.`,
    );
  }
  if (inputs.maxSampleGapMs > inputs.soakMs) {
    throw new InputError(
      'max-sample-gap',
      'is longer than soak-hours: one sample could then cover the whole window; ' +
        'use a gap shorter than the window (e.g. twice the schedule interval).',
    );
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** A byte size: `0`, `1048576`, `16MiB`, `64MB`, `1GiB`. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

function bytes(i: Inputs, name: string, fallback: string): number {
  const v = i.raw(name) || fallback;
  const n = parseBytes(v);
  if (n === undefined) throw new InputError(name, `'${v}' is not a byte size; use e.g. 0, 1048576, 16MiB or 1GiB.`);
  return n;
}

function positiveDuration(i: Inputs, name: string, fallback: string): number {
  const ms = i.duration(name, fallback);
  if (ms <= 0) throw new InputError(name, 'must be longer than zero.');
  return ms;
}

/** Postgres names are passed as query parameters, never spliced; this only catches typos early. */
function identifier(name: string, value: string): string {
  if (value.length > 63 || /[\0\n\r]/.test(value))
    throw new InputError(name, `'${value}' is not a PostgreSQL identifier (at most 63 characters, one line).`);
  return value;
}

function optionalIdentifier(i: Inputs, name: string): string | undefined {
  const v = i.optional(name);
  return v === undefined ? undefined : identifier(name, v);
}

function kubeSecretName(name: string, value: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value) || value.length > 253) {
    throw new InputError(name, `'${value}' is not a valid Secret name (lower-case letters, digits, '-' and '.').`);
  }
  return value;
}
