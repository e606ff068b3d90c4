/**
 * Measured runs for the benchmarks: the median of rounds, and commands run
 * from the same starting state with their wall and CPU cost.
 *
 * Same starting state for every run: `sync` and a pause of BENCH_SETTLE_S
 * seconds (default 3). Why: on this VM, a write into page cache that was
 * freed less than about a second earlier (the previous run's files just
 * deleted) costs ~0.2 s per GiB, into memory that has settled (handed back
 * to the host) 1-3 s per GiB, so without the pause whichever run follows a
 * deletion most closely wins by up to 2 s per GiB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const settleSeconds = Number(process.env.BENCH_SETTLE_S ?? 3);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Dirty pages written out and freed memory settled, before every measured run alike. */
export function settle(): void {
  execFileSync('sync');
  if (settleSeconds > 0) execFileSync('sleep', [String(settleSeconds)]);
}

/** Wall and CPU (user + system) milliseconds of one measured run. */
export type Cost = { wallMs: number; cpuMs: number };
export type RunOptions = { cwd?: string; env?: NodeJS.ProcessEnv };

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/**
 * CPU milliseconds of the children this process has waited for, and of
 * theirs that they waited for: cutime + cstime, fields 16 and 17 of
 * /proc/self/stat (proc(5)), in clock ticks. Fields are counted after the
 * command name, which is in parentheses and may hold spaces.
 */
function childrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 on
  return ((Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S) * 1000;
}

/**
 * One measured run of a command, after settle(): its cost (process start
 * included, with everything it waited for) and its output. No input unless
 * `input` is given, so nothing can prompt.
 */
export function measure(cmd: string, args: string[], opts: RunOptions & { input?: string } = {}): { cost: Cost; stdout: string } {
  settle();
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const wallMs = performance.now() - t0;
  const cpuMs = childrenCpuMs() - cpu0;
  if (res.status !== 0) throw new Error(`${path.basename(cmd)} ${args[0]} failed (${res.status ?? res.signal}): ${res.stderr}`);
  return { cost: { wallMs, cpuMs }, stdout: res.stdout };
}
