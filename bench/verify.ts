/**
 * Full verification against `sha256sum`, side by side in one run on the
 * same file: a 1 GiB backup written by the engine (make-backup.ts), then,
 * round after round, in alternating order:
 *   baseline  sha256sum FILE (coreutils: reads the file once and hashes it)
 *   webconf   verifyBackupFile on the local folder (lib/backup/verify-file.ts:
 *             every chunk authenticated and decrypted, the tar walked, the
 *             signed manifest checked, every member's SHA-256 and the file's
 *             SHA-256), both cores, direct I/O, on the appliance that made
 *             the backup, as the console verifies its backups: the keys the
 *             engine derived for the file are in its database
 *             (key-cache.ts), so no scrypt runs
 *   DMS only  the same verification with nothing remembered, as another
 *             appliance (or this one after its cache was lost) verifies it:
 *             scrypt at 2^18 for the header and 2^15 for the manifest key
 *   stream    (for reference) the same verification through the target's
 *             read stream, as for an NFS share: one thread decrypts and hashes
 * Prints the median wall and CPU seconds of each, the ratio sha256sum_s /
 * verify_s (target: at least 0.8) overall and per round, the load average
 * (other work on the machine hurts verify, which needs both cores, more
 * than sha256sum, which needs one), and the peak RSS of this process
 * (verify's memory must not grow with the file).
 *
 * Same state for every run: the file is in the page cache for sha256sum
 * (read once before the rounds; on this VM reading into freshly allocated
 * page cache costs several seconds per GiB, which would swamp both), and
 * each run starts after `sync`. verifyBackupFile reads with direct I/O,
 * from the device: the baseline is not disadvantaged. BENCH_VERIFY_MIB
 * (default 1024), BENCH_ROUNDS (default 3) and BENCH_VERIFY_STREAM
 * (default 1: measure the stream path too) tune it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applianceKeyCache } from '../lib/backup/key-cache';
import { verifyBackupFile } from '../lib/backup/verify-file';
import { LocalFolderTarget } from '../lib/storage/local-folder';
import type { StorageTarget } from '../lib/storage/types';
import { DMS, makeBackup } from './make-backup';
import { median } from './measure';

const mib = Number(process.env.BENCH_VERIFY_MIB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const withStream = (process.env.BENCH_VERIFY_STREAM ?? '1') === '1';
const MiB = 1 << 20;

type Run = { s: number; cpuS: number };

/** Wall seconds and CPU seconds (user + system, all threads) of `run` in this process. */
async function timed(run: () => unknown): Promise<Run> {
  execFileSync('sync');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const c = process.cpuUsage(c0);
  return { s: (performance.now() - t0) / 1000, cpuS: (c.user + c.system) / 1e6 };
}

/** sha256sum of `file`: wall seconds, and its CPU seconds from bash's `time`. */
function sha256sum(file: string): Run {
  execFileSync('sync');
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%U %S'; time sha256sum '${file}' > /dev/null`], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { s, cpuS: user! + sys! };
}

/** The target without localPath: verifyBackupFile takes the stream path, as for NFS. */
function streamOnly(t: StorageTarget): StorageTarget {
  const wrapped: StorageTarget = Object.create(t);
  Object.defineProperty(wrapped, 'localPath', { value: undefined });
  return wrapped;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-bench-verify-'));
  try {
    const dir = path.join(work, 'target');
    fs.mkdirSync(dir);
    const made = makeBackup(work, mib, dir, { keepDatabase: true });
    // The data folder that made it: its database holds the keys the engine derived for the file.
    process.env.WEBCONF_DATA_DIR = made.dataRoot;
    const file = path.join(dir, made.fileName);
    console.log(`made a ${mib} MiB backup: ${made.fileName}, ${(made.fileBytes / MiB).toFixed(1)} MiB`);
    execFileSync('bash', ['-c', `cat '${file}' > /dev/null`]);
    const target = new LocalFolderTarget(dir);
    const want = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    const base: Run[] = [];
    const ours: Run[] = [];
    const stream: Run[] = [];
    const dmsOnly: Run[] = [];
    const check = (checksum: string) => {
      if (checksum !== want) throw new Error(`verify answered checksum ${checksum}, sha256sum ${want}`);
    };
    for (let r = 0; r < rounds; r++) {
      const verify = async () => ours.push(await timed(async () => check((await verifyBackupFile(target, made.fileName, DMS, { keyCache: applianceKeyCache })).checksum)));
      if (r % 2 === 1) await verify();
      base.push(sha256sum(file));
      if (r % 2 === 0) await verify();
      dmsOnly.push(await timed(async () => check((await verifyBackupFile(target, made.fileName, DMS)).checksum)));
      if (withStream) stream.push(await timed(async () => check((await verifyBackupFile(streamOnly(target), made.fileName, DMS, { keyCache: applianceKeyCache })).checksum)));
    }
    const row = (name: string, runs: Run[]) =>
      `${name.padEnd(26)}${median(runs.map((r) => r.s)).toFixed(2)} s, CPU ${median(runs.map((r) => r.cpuS)).toFixed(2)} s  (rounds ${runs.map((r) => r.s.toFixed(2)).join(', ')})`;
    const ratio = median(base.map((r) => r.s)) / median(ours.map((r) => r.s));
    const ratioDmsOnly = median(base.map((r) => r.s)) / median(dmsOnly.map((r) => r.s));
    // Each round's sha256sum and verify ran next to each other: their ratio is less exposed to other load on the machine.
    const perRound = base.map((b, i) => b.s / ours[i]!.s);
    const rows = [
      row('sha256sum', base),
      row('verifyBackupFile', ours),
      row('  DMS only (scrypt)', dmsOnly),
      ...(withStream ? [row('  stream path (as NFS)', stream)] : []),
      `ratio sha256sum_s / verify_s: ${ratio.toFixed(2)} (target: at least 0.8) ${ratio >= 0.8 ? 'OK' : 'BELOW TARGET'}; per round ${perRound.map((r) => r.toFixed(2)).join(', ')}`,
      `  with the DMS only (another appliance, nothing remembered): ${ratioDmsOnly.toFixed(2)}`,
      `load average during the run: ${os.loadavg()[0]!.toFixed(1)} (${os.cpus().length} cores; above 0 means other work shared them)`,
      `peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    ];
    console.log(`\nFull verification of a ${mib} MiB backup (${(made.fileBytes / MiB).toFixed(0)} MiB file), median of ${rounds} rounds, order alternating:`);
    for (const row of rows) console.log(row);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
