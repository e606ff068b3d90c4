/**
 * Full verification against `sha256sum`, side by side in one run on the
 * same file: a 1 GiB backup written by the engine (make-backup.ts), then,
 * round after round, in alternating order:
 *   baseline  sha256sum FILE (coreutils: reads the file once and hashes it)
 *   webconf   verifyBackupFile on the local folder (lib/backup/verify-file.ts:
 *             scrypt of the header, every chunk authenticated and decrypted,
 *             the tar walked, the signed manifest checked, every member's
 *             SHA-256 and the file's SHA-256), both cores, direct I/O
 *   stream    (for reference) the same verification through the target's
 *             read stream, as for an NFS share: one thread decrypts and hashes
 * Prints the median seconds of each and the ratio sha256sum_s / verify_s
 * (target: at least 0.8), and the peak RSS of this process (verify's
 * memory must not grow with the file).
 *
 * Same state for every run: the file is in the page cache for sha256sum
 * (read once before the rounds; on this VM reading into freshly allocated
 * page cache costs several seconds per GiB, which would swamp both), and
 * each run starts after `sync`. verifyBackupFile reads with direct I/O,
 * from the device: the baseline is not disadvantaged. BENCH_VERIFY_MIB
 * (default 1024), BENCH_ROUNDS (default 3) and BENCH_VERIFY_STREAM
 * (default 1: measure the stream path too) tune it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyBackupFile } from '../lib/backup/verify-file';
import { LocalFolderTarget } from '../lib/storage/local-folder';
import type { StorageTarget } from '../lib/storage/types';
import { DMS, makeBackup } from './make-backup';

const mib = Number(process.env.BENCH_VERIFY_MIB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const withStream = (process.env.BENCH_VERIFY_STREAM ?? '1') === '1';
const MiB = 1 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(run: () => unknown): Promise<number> {
  execFileSync('sync');
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
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
    const made = makeBackup(work, mib, dir);
    const file = path.join(dir, made.fileName);
    console.log(`made a ${mib} MiB backup: ${made.fileName}, ${(made.fileBytes / MiB).toFixed(1)} MiB`);
    execFileSync('bash', ['-c', `cat '${file}' > /dev/null`]);
    const target = new LocalFolderTarget(dir);
    const want = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    const base: number[] = [];
    const ours: number[] = [];
    const stream: number[] = [];
    const check = (checksum: string) => {
      if (checksum !== want) throw new Error(`verify answered checksum ${checksum}, sha256sum ${want}`);
    };
    for (let r = 0; r < rounds; r++) {
      const verify = async () => ours.push(await timed(async () => check((await verifyBackupFile(target, made.fileName, DMS)).checksum)));
      if (r % 2 === 1) await verify();
      base.push(await timed(() => execFileSync('sha256sum', [file])));
      if (r % 2 === 0) await verify();
      if (withStream) stream.push(await timed(async () => check((await verifyBackupFile(streamOnly(target), made.fileName, DMS)).checksum)));
    }
    const ratio = median(base) / median(ours);
    const rows = [
      `sha256sum                 ${median(base).toFixed(2)} s  (rounds ${base.map((t) => t.toFixed(2)).join(', ')})`,
      `verifyBackupFile          ${median(ours).toFixed(2)} s  (rounds ${ours.map((t) => t.toFixed(2)).join(', ')})`,
      ...(withStream ? [`  stream path (as NFS)    ${median(stream).toFixed(2)} s  (rounds ${stream.map((t) => t.toFixed(2)).join(', ')})`] : []),
      `ratio sha256sum_s / verify_s: ${ratio.toFixed(2)} (target: at least 0.8) ${ratio >= 0.8 ? 'OK' : 'BELOW TARGET'}`,
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
