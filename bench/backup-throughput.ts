/**
 * Backup throughput against a named baseline, measured side by side in one
 * run on the same disk and the same data:
 *   baseline: tar -c | openssl enc -aes-256-ctr -pbkdf2 > file
 *   webconf:  a full backup by the engine (DB snapshot, hashing for the signed
 *             manifest, tar, age encryption, direct I/O to the disk, fsync,
 *             read-back verification from the disk, rename), in a process of
 *             its own.
 *   baseline+ (for reference): the same pipeline doing the steps the backup
 *             does, with shell tools: the tar stream hashed (sha256sum) while
 *             encrypted, the file fsync'ed, then read back (decrypted) and
 *             hashed (sha256sum) side by side.
 * Prints throughput of each, the ratio webconf/baseline (and against
 * baseline+), and the backup's peak RSS for each data size (it must not
 * grow with the data).
 *
 * Same starting state for every run: each measured run starts after
 * `sync` and a pause of BENCH_SETTLE_S seconds (default 3), and the order
 * alternates between rounds. Why: on this VM, a write into page cache that
 * was freed less than about a second earlier (the previous run's file just
 * deleted) costs ~0.2 s per GiB, into memory that has settled (handed back
 * to the host) 1-3 s per GiB, so without the pause whichever run follows a
 * deletion most closely wins by up to 2 s per GiB.
 * BENCH_SIZES_MIB (default "256,1024"), BENCH_ROUNDS (default 3) and
 * BENCH_SETTLE_S tune it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeData, runBackupChild } from './make-backup';

const sizes = (process.env.BENCH_SIZES_MIB ?? '256,1024').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const settleSeconds = Number(process.env.BENCH_SETTLE_S ?? 3);
const MiB = 1 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Dirty pages written out and freed memory settled, before every measured run alike. */
function settle(): void {
  execFileSync('sync');
  if (settleSeconds > 0) execFileSync('sleep', [String(settleSeconds)]);
}

function baseline(dataRoot: string, target: string): number {
  settle();
  const out = path.join(target, 'baseline.tar.enc');
  const t0 = performance.now();
  execFileSync('bash', ['-c', `tar -cf - -C '${path.join(dataRoot, 'appliance')}' . | openssl enc -aes-256-ctr -pbkdf2 -pass pass:benchmark > '${out}'`]);
  const ms = performance.now() - t0;
  fs.rmSync(out);
  return ms;
}

function baselinePlus(dataRoot: string, target: string): number {
  settle();
  const out = path.join(target, 'baseline-plus.tar.enc');
  const t0 = performance.now();
  execFileSync('bash', [
    '-c',
    `set -e; tar -cf - -C '${path.join(dataRoot, 'appliance')}' . | tee >(sha256sum > /dev/null) | openssl enc -aes-256-ctr -pbkdf2 -pass pass:benchmark > '${out}'
     sync '${out}'
     openssl enc -d -aes-256-ctr -pbkdf2 -pass pass:benchmark -in '${out}' > /dev/null & sha256sum '${out}' > /dev/null; wait`,
  ]);
  const ms = performance.now() - t0;
  fs.rmSync(out);
  return ms;
}

function webconf(dataRoot: string, target: string): { ms: number; maxRssMiB: number; fileBytes: number } {
  settle();
  const r = runBackupChild(dataRoot, target);
  for (const f of fs.readdirSync(target)) fs.rmSync(path.join(target, f));
  return r;
}

const rows: string[] = [];
for (const mib of sizes) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-bench-'));
  try {
    const dataRoot = path.join(work, 'data');
    const target = path.join(work, 'target');
    fs.mkdirSync(target);
    makeData(dataRoot, mib);
    // Warm the page cache for both alike.
    execFileSync('bash', ['-c', `cat '${dataRoot}'/appliance/*/* > /dev/null`]);
    const base: number[] = [];
    const plus: number[] = [];
    const ours: number[] = [];
    let rss = 0;
    for (let r = 0; r < rounds; r++) {
      const ourRun = () => {
        const w = webconf(dataRoot, target);
        ours.push(w.ms);
        rss = Math.max(rss, w.maxRssMiB);
      };
      if (r % 2 === 1) ourRun();
      base.push(baseline(dataRoot, target));
      plus.push(baselinePlus(dataRoot, target));
      if (r % 2 === 0) ourRun();
    }
    const bytes = mib * MiB;
    const baseTp = bytes / MiB / (median(base) / 1000);
    const oursTp = bytes / MiB / (median(ours) / 1000);
    const plusTp = bytes / MiB / (median(plus) / 1000);
    rows.push(
      `${String(mib).padStart(5)} MiB | baseline tar|openssl ${baseTp.toFixed(0).padStart(5)} MiB/s | webconf backup ${oursTp.toFixed(0).padStart(5)} MiB/s | ratio ${(oursTp / baseTp).toFixed(2)} | webconf peak RSS ${rss.toFixed(0)} MiB | baseline+ ${plusTp.toFixed(0).padStart(5)} MiB/s, ratio to it ${(oursTp / plusTp).toFixed(2)}`,
    );
    console.log(rows.at(-1));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
console.log(`\nBackup throughput (median of ${rounds} rounds, same disk, same data, each run after sync + ${settleSeconds} s; ratio = webconf / baseline):`);
for (const r of rows) console.log(r);
