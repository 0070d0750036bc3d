// A stand-in for @actions/core that records what an action did, for unit tests of modules
// that take `core` as a parameter (no module mocking).
import type { Core } from '../../actions/lib/core.js';

export interface Recorded {
  logs: { level: string; message: string }[];
  outputs: Record<string, string>;
  state: Record<string, string>;
  secrets: string[];
  failed?: string;
  summary: string;
}

export function recordingCore(
  inputs: Record<string, string> = {},
  state: Record<string, string> = {},
): { core: Core; rec: Recorded } {
  const rec: Recorded = { logs: [], outputs: {}, state: { ...state }, secrets: [], summary: '' };
  const log = (level: string) => (m: unknown) =>
    void rec.logs.push({ level, message: m instanceof Error ? m.message : String(m) });
  const summary = {
    addRaw(text: string, eol = false) {
      rec.summary += text + (eol ? '\n' : '');
      return summary;
    },
    addHeading(text: string, level = 1) {
      rec.summary += `${'#'.repeat(Number(level))} ${text}\n`;
      return summary;
    },
    addTable(rows: unknown[][]) {
      rec.summary +=
        rows
          .map((r) => r.map((c) => (typeof c === 'object' && c ? (c as { data: string }).data : String(c))).join(' | '))
          .join('\n') + '\n';
      return summary;
    },
    addList(items: string[]) {
      rec.summary += items.map((i) => `- ${i}`).join('\n') + '\n';
      return summary;
    },
    addDetails(label: string, content: string) {
      rec.summary += `${label}\n${content}\n`;
      return summary;
    },
    addCodeBlock(code: string) {
      rec.summary += '```\n' + code + '\n```\n';
      return summary;
    },
    addEOL() {
      rec.summary += '\n';
      return summary;
    },
    addSeparator() {
      rec.summary += '---\n';
      return summary;
    },
    addBreak() {
      return summary;
    },
    addQuote(text: string) {
      rec.summary += `> ${text}\n`;
      return summary;
    },
    addLink(text: string, href: string) {
      rec.summary += `[${text}](${href})`;
      return summary;
    },
    async write() {
      return summary;
    },
    stringify() {
      return rec.summary;
    },
    isEmptyBuffer() {
      return rec.summary === '';
    },
    emptyBuffer() {
      return summary;
    },
    async clear() {
      rec.summary = '';
      return summary;
    },
  };
  const core = {
    getInput: (name: string) => inputs[name] ?? '',
    getBooleanInput: (name: string) => (inputs[name] ?? '') === 'true',
    getMultilineInput: (name: string) => (inputs[name] ?? '').split('\n').filter(Boolean),
    setOutput: (k: string, v: unknown) => void (rec.outputs[k] = String(v)),
    saveState: (k: string, v: unknown) => void (rec.state[k] = String(v)),
    getState: (k: string) => rec.state[k] ?? '',
    setSecret: (s: string) => void rec.secrets.push(s),
    setFailed: (m: string | Error) => void (rec.failed = m instanceof Error ? m.message : m),
    info: log('info'),
    debug: log('debug'),
    notice: log('notice'),
    warning: log('warning'),
    error: log('error'),
    startGroup: log('group'),
    endGroup: () => {},
    group: async <T>(name: string, fn: () => Promise<T>) => {
      log('group')(name);
      return fn();
    },
    isDebug: () => false,
    exportVariable: () => {},
    addPath: () => {},
    summary,
  } as unknown as Core;
  return { core, rec };
}
