/**
 * Backup cost against named baselines and against the tools users would
 * otherwise pick, measured side by side in one run on the same disk and the
 * same data (the appliance folders and the console's database, webconf.db):
 *   webconf:  a full backup by the engine (DB snapshot, hashing for the signed
 *             manifest, tar, age encryption, direct I/O to the disk, fsync,
 *             read-back verification from the disk, rename), in a process of
 *             its own (bench/backup-child.ts).
 *   baseline: tar -c | openssl enc -aes-256-ctr -pbkdf2 > file
 *   baseline+ (for reference): the same pipeline doing the steps the backup
 *             does, with shell tools: the tar stream hashed (sha256sum) while
 *             encrypted, the file fsync'ed, then read back (decrypted) and
 *             hashed (sha256sum) side by side.
 *   restic:   `restic backup` into a fresh repository (format 2: compressed,
 *             as restic makes by default since 0.16), encrypted with a
 *             password (RESTIC_PASSWORD); the first, full backup.
 *   borg:     `borg create` into a fresh repository made by `borg init
 *             --encryption=repokey-blake2` (passphrase from BORG_PASSPHRASE);
 *             the first, full backup.
 * The repositories are made (not measured) in fresh folders next to the
 * console's target, on the same file system, and removed after each run.
 * restic and borg (Debian packages restic, borgbackup) are installed when
 * missing.
 *
 * Prints, for each data size, wall seconds and CPU seconds (user + system)
 * of each, with ratios against webconf (other / webconf: above 1, webconf
 * takes less; for wall time this is webconf's throughput over the other's,
 * the ratio printed before), throughput, the bytes each left on the disk
 * (file or repository: with nothing to deduplicate or compress, all about
 * the data's size) and the backup's peak RSS (it must not grow with the data). webconf's times are read in its process over the
 * backup alone, as in the console, which is already running; the others'
 * are the command's (process start included) with everything it waited
 * for (the children times of /proc/self/stat).
 *
 * Same starting state for every run: each measured run starts after
 * `sync` and a pause of BENCH_SETTLE_S seconds (default 3), and the order
 * reverses between rounds. Why: on this VM, a write into page cache that
 * was freed less than about a second earlier (the previous run's file just
 * deleted) costs ~0.2 s per GiB, into memory that has settled (handed back
 * to the host) 1-3 s per GiB, so without the pause whichever run follows a
 * deletion most closely wins by up to 2 s per GiB.
 * BENCH_SIZES_MIB (default "256,1024"), BENCH_ROUNDS (default 3) and
 * BENCH_SETTLE_S tune it.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../lib/db/client';
import { measure, median, settleSeconds, type Cost, type RunOptions } from './measure';

const ROOT = path.resolve(import.meta.dirname, '..');
const sizes = (process.env.BENCH_SIZES_MIB ?? '256,1024').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const MiB = 1 << 20;

/**
 * Configuration-like data: a few large files, many small ones, incompressible
 * and with nothing to deduplicate (every file random of its own, as
 * configuration files do not repeat each other), so that restic and borg
 * store all of it as the others do.
 */
function makeData(root: string, totalMiB: number) {
  const sys = path.join(root, 'appliance', 'system');
  const fw = path.join(root, 'appliance', 'firmware');
  fs.mkdirSync(sys, { recursive: true });
  fs.mkdirSync(fw, { recursive: true });
  let left = totalMiB * MiB;
  for (let i = 0; i < 200; i++) {
    const b = crypto.randomBytes(4096);
    fs.writeFileSync(path.join(fw, `setting-${i}.conf`), b);
    left -= b.length;
  }
  const chunk = Buffer.alloc(16 * MiB);
  for (let i = 0; left > 0; i++) {
    const n = Math.min(left, 16 * MiB);
    fs.writeFileSync(path.join(sys, `part-${String(i).padStart(3, '0')}.bin`), crypto.randomFillSync(chunk).subarray(0, n));
    left -= n;
  }
}

/** A run's cost and the bytes it left on the target (file or repository). */
type Outcome = Cost & { storedBytes: number };

/** A command that must succeed, not measured (making a repository). No input, so nothing can prompt. */
function run(cmd: string, args: string[], opts: RunOptions = {}): void {
  execFileSync(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Bytes a file or folder takes (apparent sizes, as `du -sb` counts them). */
function bytesAt(p: string): number {
  return Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]);
}

/** What each one backs up, relative to the data folder: what the console's backup takes. */
const SOURCES = ['appliance', 'webconf.db'];
const PASSWORD = 'benchmark password';

/** Where one run writes: the console's target folder, and a scratch folder on the same file system. */
type Place = { dataRoot: string; target: string; scratch: string };

function baseline({ dataRoot, target }: Place): Outcome {
  const out = path.join(target, 'baseline.tar.enc');
  const { cost } = measure('bash', ['-c', `tar -cf - -C '${dataRoot}' ${SOURCES.join(' ')} | openssl enc -aes-256-ctr -pbkdf2 -pass pass:benchmark > '${out}'`]);
  const storedBytes = bytesAt(out);
  fs.rmSync(out);
  return { ...cost, storedBytes };
}

function baselinePlus({ dataRoot, target }: Place): Outcome {
  const out = path.join(target, 'baseline-plus.tar.enc');
  // The hash reads the tar stream through a FIFO, as a child of the shell that waits for it, so that
  // its CPU time is counted (a process substitution, >(…), is left to init to reap).
  const fifo = path.join(target, 'tar-stream.fifo');
  const { cost } = measure('bash', [
    '-c',
    `set -e; mkfifo '${fifo}'; sha256sum < '${fifo}' > /dev/null &
     tar -cf - -C '${dataRoot}' ${SOURCES.join(' ')} | tee '${fifo}' | openssl enc -aes-256-ctr -pbkdf2 -pass pass:benchmark > '${out}'
     wait; rm '${fifo}'
     sync '${out}'
     openssl enc -d -aes-256-ctr -pbkdf2 -pass pass:benchmark -in '${out}' > /dev/null & sha256sum '${out}' > /dev/null; wait`,
  ]);
  const storedBytes = bytesAt(out);
  fs.rmSync(out);
  return { ...cost, storedBytes };
}

function restic({ dataRoot, scratch }: Place): Outcome {
  const dir = fs.mkdtempSync(path.join(scratch, 'restic-'));
  const repo = path.join(dir, 'repo');
  const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(dir, 'cache') };
  try {
    run('restic', ['init', '--repository-version', '2'], { env });
    const { cost } = measure('restic', ['backup', '--quiet', '--host', 'bench', ...SOURCES], { cwd: dataRoot, env });
    return { ...cost, storedBytes: bytesAt(repo) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function borg({ dataRoot, scratch }: Place): Outcome {
  const dir = fs.mkdtempSync(path.join(scratch, 'borg-'));
  const repo = path.join(dir, 'repo');
  const env = {
    ...process.env,
    BORG_PASSPHRASE: PASSWORD,
    // Its cache, keys and security folder, removed with the repository.
    BORG_BASE_DIR: path.join(dir, 'home'),
    // Answers to the questions borg could ask (none should come up here).
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    BORG_DISPLAY_PASSPHRASE: 'no',
  };
  try {
    run('borg', ['init', '--encryption=repokey-blake2', repo], { env });
    const { cost } = measure('borg', ['create', `${repo}::first`, ...SOURCES], { cwd: dataRoot, env });
    return { ...cost, storedBytes: bytesAt(repo) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let peakRssMiB = 0;
function webconf({ dataRoot, target }: Place): Outcome {
  const { stdout } = measure(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'backup-child.ts')], {
    cwd: ROOT,
    env: { ...process.env, WEBCONF_DATA_DIR: dataRoot, BENCH_TARGET: target, WEBCONF_LOG_LEVEL: 'silent' },
  });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { ms: number; cpuMs: number; fileBytes: number; maxRssMiB: number };
  for (const f of fs.readdirSync(target)) fs.rmSync(path.join(target, f));
  peakRssMiB = Math.max(peakRssMiB, r.maxRssMiB);
  return { wallMs: r.ms, cpuMs: r.cpuMs, storedBytes: r.fileBytes };
}

/** "restic 0.14.0", "borg 1.2.4": the first two words of what the tool says. */
const version = (cmd: string, flag: string) => execFileSync(cmd, [flag], { encoding: 'utf8' }).split('\n')[0]!.split(' ').slice(0, 2).join(' ');
execFileSync('bash', [path.join(ROOT, 'scripts', 'install-debs.sh'), 'restic', 'borgbackup'], { stdio: 'inherit' });
const RUNS: { name: string; run: (p: Place) => Outcome }[] = [
  { name: 'webconf backup', run: webconf },
  { name: 'baseline tar|openssl', run: baseline },
  { name: 'baseline+', run: baselinePlus },
  { name: version('restic', 'version'), run: restic },
  { name: version('borg', '--version'), run: borg },
];

const seconds = (ms: number) => (ms / 1000).toFixed(2).padStart(7);
const ratio = (x: number, ours: number) => (x / ours).toFixed(2).padStart(6);

const tables: string[] = [];
for (const mib of sizes) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-bench-'));
  try {
    const place: Place = { dataRoot: path.join(work, 'data'), target: path.join(work, 'target'), scratch: work };
    fs.mkdirSync(place.target);
    makeData(place.dataRoot, mib);
    // The console's database, there before the first run of any (each webconf run adds its backup's record).
    openDb(path.join(place.dataRoot, 'webconf.db')).$client.close();
    // Warm the page cache for all alike.
    execFileSync('bash', ['-c', `cat '${place.dataRoot}'/appliance/*/* > /dev/null`]);
    peakRssMiB = 0;
    const outcomes = RUNS.map(() => [] as Outcome[]);
    for (let r = 0; r < rounds; r++) {
      const order = RUNS.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) outcomes[i]!.push(RUNS[i]!.run(place));
    }
    const wall = outcomes.map((o) => median(o.map((x) => x.wallMs)));
    const cpu = outcomes.map((o) => median(o.map((x) => x.cpuMs)));
    const stored = outcomes.map((o) => median(o.map((x) => x.storedBytes)));
    const lines = [
      `${mib} MiB${''.padEnd(23 - String(mib).length)}wall s  ratio   CPU s  ratio   MiB/s  stored MiB`,
      ...RUNS.map(
        ({ name }, i) =>
          `  ${name.padEnd(24)}${seconds(wall[i]!)} ${ratio(wall[i]!, wall[0]!)} ${seconds(cpu[i]!)} ${ratio(cpu[i]!, cpu[0]!)} ${(mib / (wall[i]! / 1000)).toFixed(0).padStart(7)} ${(stored[i]! / MiB).toFixed(0).padStart(11)}`,
      ),
      `  webconf peak RSS ${peakRssMiB.toFixed(0)} MiB`,
    ];
    tables.push(lines.join('\n'));
    console.log(tables.at(-1));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
console.log(
  `\nBackup cost (median of ${rounds} rounds, same disk, same data, each run after sync + ${settleSeconds} s; ` +
    `ratio = other / webconf, above 1: webconf takes less; CPU = user + system):`,
);
for (const t of tables) console.log(t);
console.log(
  `Note: restic and borg split files into chunks, deduplicate and compress (a second backup stores only what changed),` +
    `\nand keep a repository; webconf writes one self-contained encrypted file per backup (no repository, decryptable with the age CLI alone),` +
    `\nverified by reading it back from the disk, which neither tool does on backup. The data here is incompressible.`,
);
