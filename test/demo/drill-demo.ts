// `npm start`: the whole restore drill on the playground, as a runner would run it. Brings the
// playground up, creates a live cluster with sample data, backs it up, writes more rows, runs the
// bundled action (main, then post), prints the report, and tears everything down (also on Ctrl-C).
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startPlayground } from '../playground/playground.js';
import type { PlaygroundHandle } from '../playground/types.js';
import { createLiveCluster } from '../helpers/live-cluster.js';
import { ensureDrillBundle } from '../helpers/drill-bundle.js';
import { runAction } from '../helpers/run-action.js';

const say = (line: string) => console.log(`\x1b[36m[demo]\x1b[0m ${line}`);
let pgd: PlaygroundHandle | undefined;
let child: ChildProcess | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (child && child.exitCode === null) {
      say('stopping the drill (SIGINT, it tears down what it created)...');
      child.kill('SIGINT');
      await new Promise((r) => child!.once('close', r));
    }
    if (pgd) {
      say('stopping the playground (postgres processes, S3, API server)...');
      await pgd.stop();
    }
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

/** Shows the action's log as the runner would: workflow commands rendered, masks hidden. */
function relay(c: ChildProcess): void {
  child = c;
  let buf = '';
  c.stdout!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('::add-mask::') || line.startsWith('::debug::')) continue;
      const cmd = /^::(error|warning|notice)[^:]*::(.*)$/.exec(line);
      if (cmd)
        console.log(
          `${cmd[1] === 'error' ? '\x1b[31mError' : '\x1b[33mWarning'}: ${cmd[2].replace(/%0A/g, '\n  ')}\x1b[0m`,
        );
      else console.log(`  ${line}`);
    }
  });
}

try {
  const dist = ensureDrillBundle(say);
  say(`using the bundle in ${dist}`);
  say('starting the playground (Kubernetes API + CNPG operator emulator, real PostgreSQL 15, barman-cloud, S3)...');
  pgd = await startPlayground();
  say(
    'creating live cluster default/shop (in-tree barmanObjectStore), loading sample data, taking a Backup, writing 250 more rows after it...',
  );
  const t0 = Date.now();
  await createLiveCluster(pgd, { name: 'shop', mode: 'in-tree', rows: 5000, rowsAfterBackup: 250 });
  say(`live cluster ready with a completed backup in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const inputs = {
    cluster: 'shop',
    namespace: 'default',
    kubeconfig: readFileSync(pgd.kubeconfigPath, 'utf8'),
    'row-count-tolerance': '0.05',
    // No Slack here: the message the drill would post goes into the job summary (printed below).
    'slack-preview': 'true',
  };
  say('running cnpg-restore-drill (main step) as the runner would...\n');
  const main = await runAction('cnpg-restore-drill', 'main', { inputs, onSpawn: relay, timeoutMs: 600_000 });
  child = undefined;
  say(`main step exited ${main.exitCode} in ${(main.durationMs / 1000).toFixed(1)} s; outputs:`);
  for (const [k, v] of Object.entries(main.outputs)) console.log(`    ${k} = ${v}`);
  const preview = /### Slack message \(preview, not sent\)[\s\S]*?```json\n[\s\S]*?\n```/.exec(main.summary)?.[0];
  say('the Slack message the drill would post (slack-preview: true), as the job summary shows it:\n');
  console.log(preview ?? '(no Slack preview in the job summary)');
  say('running the post step (teardown check from the saved state)...\n');
  const post = await runAction('cnpg-restore-drill', 'post', { inputs, state: main.state, onSpawn: relay });
  child = undefined;
  say(`post step exited ${post.exitCode}`);
  say(main.outputs.result === 'passed' ? '\x1b[32mthe drill PASSED\x1b[0m' : '\x1b[31mthe drill FAILED\x1b[0m');
  await shutdown(main.exitCode === 0 && post.exitCode === 0 ? 0 : 1);
} catch (err) {
  console.error(err);
  await shutdown(1);
}
