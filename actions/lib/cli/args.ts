// The CLI's command line: a subcommand, then the action's inputs as flags (`--<input> <value>`),
// derived from action.yml through drill/input-spec.ts so the action and the CLI never disagree.
// An input may also come from the environment (CNPG_RESTORE_DRILL_<INPUT>, e.g. for a Secret in
// a pod): a flag wins. `--kubeconfig` is a file path here (the action's input takes contents).
import { parseArgs } from 'node:util';
import { DRILL_INPUTS } from '../drill/input-spec.js';

export const COMMANDS = ['run', 'plan', 'status'] as const;
export type Command = (typeof COMMANDS)[number];

/** Wrong command line: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliArgs {
  command: Command;
  /** Action inputs by name (flags, then environment); `kubeconfig` is not among them (a path: kubeconfigPath). */
  inputs: Record<string, string>;
  kubeconfigPath?: string;
  json: boolean;
  report?: string;
  help: boolean;
  /** status: a cluster whose last passing drill is older than this fails the command. */
  maxAge?: string;
  /** status: the label selector of the drill-enabled Clusters (listed even when never drilled). */
  selector?: string;
  /** run: print the exact Slack payload and send nothing (the action's slack-preview). */
  printSlack: boolean;
}

const OWN = {
  json: { type: 'boolean', description: 'Print the result as JSON on stdout (progress stays on stderr).' },
  report: { type: 'string', description: 'Write the JSON report to this file.' },
  'max-age': { type: 'string', description: 'status: exit 1 when a cluster has no passing drill this recent (8d).' },
  selector: {
    type: 'string',
    description:
      'status: label selector of the drill-enabled Clusters, listed as "never" when not drilled ' +
      '(default cnpg-actions.io/drill=enabled, as the fleet template).',
  },
  'print-slack': {
    type: 'boolean',
    description: 'run: print the exact Slack payload (text and blocks) on stdout and send nothing (slack-preview).',
  },
  help: { type: 'boolean', short: 'h', description: 'Show this help.' },
} as const;

export const envName = (input: string) => `CNPG_RESTORE_DRILL_${input.toUpperCase().replace(/-/g, '_')}`;

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliArgs {
  const options = {
    ...OWN,
    ...Object.fromEntries(Object.keys(DRILL_INPUTS).map((name) => [name, { type: 'string' as const }])),
  };
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { positionals } = parsed;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const help = values.help === true;
  const command = (positionals[0] ?? (help ? 'run' : undefined)) as Command | undefined;
  if (!command || !COMMANDS.includes(command))
    throw new UsageError(
      `${command ? `unknown command '${command}'` : 'no command'}; use one of: ${COMMANDS.join(', ')}`,
    );
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const inputs: Record<string, string> = {};
  for (const name of Object.keys(DRILL_INPUTS)) {
    const v = values[name] ?? env[envName(name)];
    if (typeof v === 'string' && name !== 'kubeconfig') inputs[name] = v;
  }
  const kubeconfigPath = (values.kubeconfig as string | undefined) ?? env[envName('kubeconfig')];
  const printSlack = values['print-slack'] === true;
  if (printSlack) inputs['slack-preview'] = 'true';
  return {
    command,
    inputs,
    kubeconfigPath: kubeconfigPath || undefined,
    json: values.json === true,
    report: values.report as string | undefined,
    help,
    maxAge: values['max-age'] as string | undefined,
    selector: values.selector as string | undefined,
    printSlack,
  };
}

/** --help: the commands, the CLI's own flags, then every action input with its default (action.yml). */
export function helpText(): string {
  const flag = (name: string, text: string, def?: string) =>
    `  --${name.padEnd(22)} ${text.replace(/\s+/g, ' ')}${def ? ` (default: ${def})` : ''}`;
  const inputs = Object.entries(DRILL_INPUTS).map(([name, spec]) =>
    flag(
      name,
      name === 'kubeconfig'
        ? 'Kubeconfig FILE. Default: KUBECONFIG, then the in-cluster ServiceAccount, then ~/.kube/config.'
        : spec.description,
      'default' in spec ? spec.default : undefined,
    ),
  );
  return [
    'Usage: cnpg-restore-drill <run|plan|status> [flags]',
    '',
    '  run     restore the live cluster into a recovery cluster, compare, measure, tear down',
    '  plan    print the recovery Cluster, copies and checks a run would create; create nothing',
    '  status  the fleet: last drill of every drilled or drill-enabled cluster (across namespaces, or --namespace)',
    '',
    'Exit codes: 0 passed, 1 failed, 2 usage error, 3 drill error.',
    `Every input may also be set as an environment variable, e.g. ${envName('slack-webhook-url')}.`,
    '',
    ...Object.entries(OWN).map(([name, o]) => flag(name, o.description)),
    '',
    'Inputs (the action’s, from action.yml):',
    ...inputs,
    '',
  ].join('\n');
}
