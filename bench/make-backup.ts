/**
 * The data and the backups the benchmarks measure, made one way for all of
 * them: configuration-like data (200 small files, the rest in 16 MiB files,
 * incompressible, each file different), and a backup of it written by the
 * engine in a process of its own (backup-child.ts) to a local folder.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
/** The DMS backup-child.ts sets. */
export const DMS = 'benchmark domain master secret';
const MiB = 1 << 20;

/** `totalMiB` MiB of appliance data under <root>/appliance. */
export function makeData(root: string, totalMiB: number): void {
  const sys = path.join(root, 'appliance', 'system');
  const fw = path.join(root, 'appliance', 'firmware');
  fs.mkdirSync(sys, { recursive: true });
  fs.mkdirSync(fw, { recursive: true });
  let left = totalMiB * MiB;
  for (let i = 0; i < 200 && left > 0; i++) {
    const b = crypto.randomBytes(Math.min(4096, left));
    fs.writeFileSync(path.join(fw, `setting-${i}.conf`), b);
    left -= b.length;
  }
  const chunk = crypto.randomBytes(16 * MiB);
  for (let i = 0; left > 0; i++) {
    const n = Math.min(left, 16 * MiB);
    fs.writeFileSync(path.join(sys, `part-${String(i).padStart(3, '0')}.bin`), chunk.subarray(0, n));
    // Each file differs from the others.
    chunk.writeUInt32LE(i, 0);
    left -= n;
  }
}

export type ChildBackup = { ms: number; fileBytes: number; fileName: string; maxRssMiB: number };

/** One engine backup of the data under `dataRoot` into the folder `target`, in a process of its own. */
export function runBackupChild(dataRoot: string, target: string): ChildBackup {
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'backup-child.ts')], {
    cwd: ROOT,
    env: { ...process.env, WEBCONF_DATA_DIR: dataRoot, BENCH_TARGET: target, WEBCONF_LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`backup failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as ChildBackup;
}

/**
 * A backup of `mib` MiB of fresh data in `target`: its file name and size, and the data folder
 * that made it (<work>/data). The appliance data is removed after; with `keepDatabase` the
 * console's database stays (it remembers the keys derived for the file: key-cache.ts).
 */
export function makeBackup(work: string, mib: number, target: string, opts: { keepDatabase?: boolean } = {}): { fileName: string; fileBytes: number; dataRoot: string } {
  const dataRoot = path.join(work, 'data');
  makeData(dataRoot, mib);
  const r = runBackupChild(dataRoot, target);
  // The configuration is not needed any more; the backup stays.
  fs.rmSync(opts.keepDatabase ? path.join(dataRoot, 'appliance') : dataRoot, { recursive: true, force: true });
  return { fileName: r.fileName, fileBytes: r.fileBytes, dataRoot };
}
