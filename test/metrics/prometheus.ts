// The real Prometheus and Pushgateway (Debian packages, .ci/setup.sh) on 127.0.0.1 and free
// ports, for the drill's metrics tests: Prometheus scrapes the Pushgateway every second
// (honor_labels, as a Pushgateway needs) and evaluates the shipped alert rules every second.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../playground/cnpg/proc.js';
import { repoRoot } from '../helpers/run-action.js';
import { waitFor } from '../helpers/wait.js';

export const RULE_FILE = join(repoRoot, 'workflows/monitoring/cnpg-restore-drill.prometheusrule.yaml');
export const RULE_TESTS = join(repoRoot, 'workflows/monitoring/cnpg-restore-drill.rules.test.yaml');

/** The PrometheusRule's spec as a plain rule file (what promtool and Prometheus read), in `dir`. */
export function writeRuleFile(dir: string, edit: (text: string) => string = (t) => t): string {
  const path = join(dir, 'cnpg-restore-drill.rules.yaml');
  writeFileSync(path, edit(stringify((parse(readFileSync(RULE_FILE, 'utf8')) as { spec: unknown }).spec)));
  return path;
}

export interface Monitoring {
  pushgateway: string;
  prometheus: string;
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
  stop(): Promise<void>;
}

function start(cmd: string, args: string[], log: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  return child;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return ((await res.json()) as { data: T }).data;
}

export async function startMonitoring(): Promise<Monitoring> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const [pgPort, promPort] = [await freePort(), await freePort()];
  const pushgateway = `http://127.0.0.1:${pgPort}`;
  const prometheus = `http://127.0.0.1:${promPort}`;
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [writeRuleFile(dir)],
    scrape_configs: [
      { job_name: 'pushgateway', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${pgPort}`] }] },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const log: string[] = [];
  const children = [
    start('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${pgPort}`], log),
    start(
      'prometheus',
      [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      log,
    ),
  ];
  const stop = async () => {
    const exited = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => {
            c.once('exit', () => r());
            c.kill('SIGTERM');
          });
    await Promise.all(children.map(exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'Pushgateway and Prometheus ready',
      async () => {
        const ok = await Promise.all(
          [`${pushgateway}/-/ready`, `${prometheus}/-/ready`].map((u) =>
            fetch(u).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        );
        return ok.every(Boolean);
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log.join('').slice(-3000)}`, { cause: err });
  }
  return {
    pushgateway,
    prometheus,
    query: (expr) =>
      getJson<{ result: never[] }>(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`).then(
        (d) => d.result,
      ),
    alerts: () => getJson<{ alerts: never[] }>(`${prometheus}/api/v1/alerts`).then((d) => d.alerts),
    stop,
  };
}
