/**
 * Local mode start-up and idle cost: wall time from `npm start` to its `ready` line (fresh data
 * directory, then a restart on the same one), and the CPU and memory of the running stack while
 * idle (no schedules firing), sampled from /proc. Beside it, the same measures of a bare
 * `node -e` HTTP server started the same way, for scale on this (noisy, shared) machine.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(__dirname, '..');
const TICKS = 100; // USER_HZ on Linux

/** All descendants of a pid (the stack runs under npm → sh → tsx → node). */
function tree(pid: number): number[] {
  const out = [pid];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(...tree(Number(p)));
    } catch {
      // gone
    }
  }
  return out;
}

function usage(pids: number[]): { cpuSeconds: number; rssMb: number } {
  let cpu = 0;
  let rss = 0;
  for (const p of pids) {
    try {
      const f = fs
        .readFileSync(`/proc/${p}/stat`, 'utf8')
        .slice(fs.readFileSync(`/proc/${p}/stat`, 'utf8').lastIndexOf(')') + 2)
        .split(' ');
      cpu += (Number(f[11]) + Number(f[12])) / TICKS;
      rss += (Number(f[21]) * 4096) / 1024 / 1024;
    } catch {
      // gone
    }
  }
  return { cpuSeconds: cpu, rssMb: rss };
}

async function startAndMeasure(command: string, args: string[], readyPattern: RegExp, idleSeconds: number) {
  const started = performance.now();
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (readyPattern.test(out)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`${command} exited ${code}: ${out}`)));
  });
  const readySeconds = (performance.now() - started) / 1000;
  const pids = tree(child.pid as number);
  const before = usage(pids);
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const after = usage(pids);
  const closed = new Promise((r) => child.once('close', r));
  process.kill(-(child.pid as number), 'SIGINT');
  await closed;
  return { readySeconds, idleCpuPercent: (100 * (after.cpuSeconds - before.cpuSeconds)) / idleSeconds, rssMb: after.rssMb };
}

export async function benchLocalStart(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
  const idle = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
  try {
    const args = ['start', '--', '--data-dir', dir, '--edge-port', '0', '--collector-port', '0', '--load-interval', '0'];
    const fresh = await startAndMeasure('npm', args, /^ready /m, idle);
    const restart = await startAndMeasure('npm', args, /^ready /m, 1);
    const bare = await startAndMeasure(process.execPath, ['-e', "require('http').createServer(()=>{}).listen(0,()=>console.log('ready'))"], /^ready/m, idle);
    return {
      readySecondsFresh: Number(fresh.readySeconds.toFixed(2)),
      readySecondsRestart: Number(restart.readySeconds.toFixed(2)),
      idleCpuPercent: Number(fresh.idleCpuPercent.toFixed(2)),
      idleRssMb: Math.round(fresh.rssMb),
      bareNodeReadySeconds: Number(bare.readySeconds.toFixed(2)),
      bareNodeIdleCpuPercent: Number(bare.idleCpuPercent.toFixed(2)),
      bareNodeRssMb: Math.round(bare.rssMb),
      readyVsBareNode: Number((fresh.readySeconds / bare.readySeconds).toFixed(1)),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  void benchLocalStart().then((r) => console.table(r));
}
