// The action's `core` for the CLI: inputs from flags, logs to stderr (secrets masked), outputs
// and the summary kept for the JSON result. The drill takes `core` as a parameter
// (actions/lib/core.ts), so the CLI runs the very same pipeline as the action.
import type { Core } from '../core.js';

export interface CliIo {
  /** Progress and logs (stderr). */
  err(line: string): void;
  /** A terminal: progress lines carry the elapsed time. */
  tty: boolean;
}

export interface CliRecord {
  outputs: Record<string, string>;
  failed?: string;
  summary: string;
}

export function cliCore(inputs: Record<string, string>, io: CliIo): { core: Core; record: CliRecord } {
  const record: CliRecord = { outputs: {}, summary: '' };
  const secrets = new Set<string>();
  const state = new Map<string, string>();
  const started = Date.now();
  const mask = (text: string) => [...secrets].reduce((t, s) => t.split(s).join('***'), text);
  const elapsed = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] `;
  };
  const print = (prefix: string) => (m: unknown) => {
    const text = mask(m instanceof Error ? m.message : String(m));
    for (const line of text.split('\n')) io.err(`${io.tty && line.startsWith('▶') ? elapsed() : ''}${prefix}${line}`);
  };
  const summary = {
    addRaw(text: string, eol = false) {
      record.summary += text + (eol ? '\n' : '');
      return summary;
    },
    async write() {
      return summary;
    },
  };
  const core = {
    getInput: (name: string) => inputs[name] ?? '',
    setSecret: (s: string) => void (s && secrets.add(s)),
    info: print(''),
    debug: () => {},
    notice: print('notice: '),
    warning: print('warning: '),
    error: print('error: '),
    setFailed: (m: string | Error) => {
      record.failed = mask(m instanceof Error ? m.message : m);
      print('error: ')(m);
    },
    setOutput: (name: string, value: unknown) => void (record.outputs[name] = mask(String(value))),
    saveState: (name: string, value: unknown) => void state.set(name, String(value)),
    getState: (name: string) => state.get(name) ?? '',
    startGroup: print(''),
    endGroup: () => {},
    group: async <T>(name: string, fn: () => Promise<T>) => (print('')(name), fn()),
    isDebug: () => false,
    summary,
  };
  return { core: core as unknown as Core, record };
}
