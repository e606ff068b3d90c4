/**
 * Backup Details cost against backup size, side by side in one run:
 * readBackupDetails (lib/backup/details.ts) of a 1 GiB backup against that
 * of a 1 MiB one, both written by the engine (bench/backup-child.ts, in a
 * process of its own, to a local folder). Details read the age header and
 * the manifest chunks only, so both should cost the same: one scrypt of the
 * header (2^18, ~0.8 s), one of the manifest signature key (2^15) and a
 * few hundred KiB of reads. Prints the median of each, the ratio
 * large/small (target: under 1.5) and the bytes each call read; for
 * reference, one full verification of the large file (verifyBackupFile,
 * which reads and decrypts all of it).
 *
 * Every measured call starts with no cached result and, when this process
 * may (root), with the page cache dropped (`sync; echo 1 >
 * /proc/sys/vm/drop_caches`), so each reads from the disk; the order
 * alternates between rounds. BENCH_DETAILS_SIZES_MIB (default "1,1024"),
 * BENCH_ROUNDS (default 5), BENCH_DROP_CACHES (default 1 when root) and
 * BENCH_DETAILS_VERIFY (default 1) tune it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { clearBackupDetailsCache, readBackupDetails } from '../lib/backup/details';
import { verifyBackupFile } from '../lib/backup/verify-file';
import { LocalFolderTarget } from '../lib/storage/local-folder';
import type { ReadRange, StorageTarget } from '../lib/storage/types';
import { DMS, makeBackup } from './make-backup';
import { median } from './measure';

const MiB = 1 << 20;
const sizes = (process.env.BENCH_DETAILS_SIZES_MIB ?? '1,1024').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const canDrop = (() => {
  try {
    fs.accessSync('/proc/sys/vm/drop_caches', fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();
const dropCaches = (process.env.BENCH_DROP_CACHES ?? (canDrop ? '1' : '0')) === '1';
const fullVerify = (process.env.BENCH_DETAILS_VERIFY ?? '1') === '1';

/** The target with the bytes its read streams hand out counted. */
function counting(t: StorageTarget): { target: StorageTarget; bytes: () => number } {
  let bytes = 0;
  const wrapped: StorageTarget = Object.create(t);
  wrapped.read = async (name: string, range?: ReadRange) => {
    const tap = new Transform({
      transform(c: Buffer, _e, cb) {
        bytes += c.length;
        cb(null, c);
      },
    });
    pipeline(await t.read(name, range), tap).catch(() => undefined);
    return tap;
  };
  return { target: wrapped, bytes: () => bytes };
}

function settle(): void {
  execFileSync('sync');
  if (dropCaches) fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
}

async function details(target: StorageTarget, fileName: string): Promise<{ ms: number; bytes: number }> {
  clearBackupDetailsCache();
  settle();
  const c = counting(target);
  const t0 = performance.now();
  const d = await readBackupDetails(c.target, fileName, DMS);
  const ms = performance.now() - t0;
  if (d.dms !== 'this' || d.signature !== 'verified') throw new Error(`unexpected details of ${fileName}: ${JSON.stringify(d)}`);
  return { ms, bytes: c.bytes() };
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-bench-details-'));
  try {
    const files: { mib: number; fileName: string; fileBytes: number; target: LocalFolderTarget }[] = [];
    for (const mib of sizes) {
      const dir = path.join(work, `${mib}`);
      const target = path.join(dir, 'target');
      fs.mkdirSync(target, { recursive: true });
      const made = makeBackup(dir, mib, target);
      files.push({ mib, ...made, target: new LocalFolderTarget(target) });
      console.log(`made a ${mib} MiB backup: ${made.fileName}, ${(made.fileBytes / MiB).toFixed(1)} MiB`);
    }
    const times = files.map(() => [] as number[]);
    const bytes = files.map(() => 0);
    for (let r = 0; r < rounds; r++) {
      const order = files.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const f = files[i]!;
        const m = await details(f.target, f.fileName);
        times[i]!.push(m.ms);
        bytes[i] = Math.max(bytes[i]!, m.bytes);
      }
    }
    console.log(`\nBackup details (median of ${rounds} rounds, order alternating, ${dropCaches ? 'page cache dropped before each call' : 'page cache NOT dropped'}):`);
    for (const [i, f] of files.entries()) {
      console.log(
        `${String(f.mib).padStart(5)} MiB backup (${(f.fileBytes / MiB).toFixed(1).padStart(7)} MiB file) | details ${median(times[i]!).toFixed(0).padStart(5)} ms | read ${(bytes[i]! / 1024).toFixed(0)} KiB | rounds ${times[i]!.map((t) => t.toFixed(0)).join(', ')} ms`,
      );
    }
    const small = median(times[0]!);
    const large = median(times[times.length - 1]!);
    const ratio = large / small;
    console.log(`ratio ${files.at(-1)!.mib} MiB / ${files[0]!.mib} MiB: ${ratio.toFixed(2)} (target: under 1.5) ${ratio < 1.5 ? 'OK' : 'ABOVE TARGET'}`);
    if (fullVerify) {
      const f = files.at(-1)!;
      settle();
      const t0 = performance.now();
      await verifyBackupFile(f.target, f.fileName, DMS);
      console.log(`for reference: full verification of the ${f.mib} MiB backup (reads and decrypts all of it): ${(performance.now() - t0).toFixed(0)} ms`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
