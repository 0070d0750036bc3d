// `npm run bench`: imports every test/bench/*.bench.ts, runs each exported `bench*(log)` function
// in turn and prints its log lines and result figures. BENCH_ONLY=<substring> picks files.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Bench = (log: (line: string) => void) => Promise<Record<string, number>>;

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (!only || f.includes(only)))
  .sort();

let failed = 0;
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
  for (const [name, fn] of Object.entries(mod)) {
    if (!name.startsWith('bench') || typeof fn !== 'function') continue;
    const label = `${file.replace(/\.bench\.ts$/, '')}/${name}`;
    console.log(`\n== ${label}`);
    const started = performance.now();
    try {
      const result = await (fn as Bench)((line) => console.log(`  ${line}`));
      for (const [k, v] of Object.entries(result)) console.log(`  RESULT ${label} ${k} = ${v}`);
      console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed++;
      console.error(`  FAILED ${label}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
}
if (files.length === 0) console.log(`no benchmarks${only ? ` matching '${only}'` : ''}`);
process.exitCode = failed ? 1 : 0;
