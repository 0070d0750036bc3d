// barman-cloud per WAL segment, as PostgreSQL's archive and restore commands run it on the playground:
// the command itself (a fresh Python importing boto3 and barman each time) against the warm server
// (test/playground/cnpg/barman_fork.py). Each call archives or restores one 16 MiB segment in s3rver.
// Printed per call each way: barman-cloud's CPU (the command, or the client and the server's worker) and
// the wall time, and direct ÷ warm (CPU target ≥ 3: the suite's WAL traffic was most of its CPU). BENCH_BARMAN_CALLS sets the calls per way (default 10).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startS3 } from '../playground/s3.js';
import { ProcessGroup } from '../playground/cnpg/proc.js';
import { ensurePostgresDir, writePostgresFile } from '../playground/cnpg/postgres.js';
import { Barman, type BarmanTarget } from '../playground/cnpg/barman.js';
import { envInt } from './env.js';

const segment = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

/** CPU seconds of a process's waited-for children (/proc/<pid>/stat cutime, cstime). */
function childCpuSeconds(pid: number | 'self'): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // USER_HZ
}

/** Archives then restores `calls` segments; wall and barman-cloud CPU milliseconds per call. */
async function perCall(b: Barman, t: BarmanTarget, dir: string, first: number, calls: number) {
  // barman's CPU: the commands or clients (this process's children) and the workers (the server's children);
  // s3rver, which runs in this process, is left out.
  const cpu = () => childCpuSeconds('self') + (b.serverPid ? childCpuSeconds(b.serverPid) : 0);
  const cloud = ['--cloud-provider', 'aws-s3', '--endpoint-url', t.endpointURL!, t.destinationPath, t.serverName];
  const src = (i: number) => path.join(dir, segment(i));
  for (let i = first; i < first + calls; i++) {
    writePostgresFile(src(i), '');
    writeFileSync(src(i), Buffer.alloc(16 << 20, i));
  }
  const cpu0 = cpu();
  const started = performance.now();
  for (let i = first; i < first + calls; i++) {
    const a = await b.run('barman-cloud-wal-archive', [...cloud, src(i)], t);
    const r = await b.run('barman-cloud-wal-restore', [...cloud, segment(i), path.join(dir, `r-${i}`)], t);
    if (a.code !== 0 || r.code !== 0) throw new Error(`segment ${i}: ${a.stderr}${r.stderr}`);
  }
  return { wallMs: (performance.now() - started) / (2 * calls), cpuMs: ((cpu() - cpu0) * 1000) / (2 * calls) };
}

export async function benchBarman(log: (line: string) => void): Promise<Record<string, number>> {
  const calls = envInt('BENCH_BARMAN_CALLS', 10);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-barman-'));
  chmodSync(dir, 0o755);
  ensurePostgresDir(path.join(dir, 'wal'));
  const s3 = await startS3({ dir: path.join(dir, 's3') });
  const procs = new ProcessGroup();
  try {
    const [direct, warm] = [new Barman(procs), new Barman(procs)];
    await warm.warm(dir);
    const t: BarmanTarget = {
      destinationPath: `s3://${s3.bucket}/bench`,
      endpointURL: s3.endpoint,
      serverName: 'bench',
      env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
    };
    const wal = path.join(dir, 'wal');
    const d = await perCall(direct, t, wal, 1, calls);
    const w = await perCall(warm, t, wal, 1 + calls, calls);
    const r = (a: number, b: number) => Math.round((a / b) * 10) / 10;
    log(`${calls} segments archived and restored each way, per call:`);
    log(`direct ${d.cpuMs.toFixed(0)} ms CPU, ${d.wallMs.toFixed(0)} ms wall`);
    log(`warm ${w.cpuMs.toFixed(0)} ms CPU, ${w.wallMs.toFixed(0)} ms wall`);
    log(`CPU direct ÷ warm ${r(d.cpuMs, w.cpuMs)} (target ≥ 3), wall ${r(d.wallMs, w.wallMs)}`);
    return { cpuRatio: r(d.cpuMs, w.cpuMs), wallRatio: r(d.wallMs, w.wallMs) };
  } finally {
    await procs.stopAll();
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
