// The `cnpg-restore-drill` command (package.json bin): the action's engine from a terminal or a pod.
import { main } from '../lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (line) => process.stderr.write(`${line}\n`),
  tty: process.stderr.isTTY === true,
});
// Sockets of finished port-forwards or API calls must not keep the command alive.
setTimeout(() => process.exit(), 250).unref();
