/**
 * The restore benchmark's child, one process per call, on the data folder
 * WEBCONF_DATA_DIR (the one that made the backup):
 *
 *   restore-child.ts prepare        an admin account, so that the restored state passes the
 *                                   post-check (somebody can sign in); before the backup is made
 *   restore-child.ts restore FILE   runRestore of FILE (on the configured storage), as the Backup page
 *                                   restores a backup picked in the history; BENCH_RESTORE_AS_FILE=1:
 *                                   as `webconf restore FILE` restores a file it is given
 *                                   run it; prints its report on the last line
 *   restore-child.ts profile FILE   the restore's steps one by one, for where the time goes
 *
 * `restore` times runRestore alone (not process start-up) and watches it
 * from outside, changing nothing in lib/: Node's fs and crypto functions the
 * restore calls (crypto.scrypt, fs.write/close of the staged files,
 * fs.fsyncSync, fs.renameSync, fs.rmSync) are wrapped to record when each
 * call started and ended, and the phases are read off those records:
 *
 *   open     runRestore called -> the verification starts: its scrypt at 2^18 when it runs
 *            one (then the first is the details'), else the first staged write (a
 *            window into the verification: its first bytes decrypted)
 *   verify   -> the last staged file closed: decrypt, tar, SHA-256 of the members and of
 *            the file, writing the staged files
 *   check    -> the first fsync of a staged file: integrity check, plan, staged database
 *            prepared for this appliance
 *   fsync    -> the last fsync in the staged trees before the first rename: syncStaging
 *   switch   -> the last staged item renamed in: journal, database closed, renames
 *   post     -> the first rename into the safety folder: reopen, post-check, commit record
 *   commit   -> the end: safety copy, pruning, work folders removed
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance as perf } from 'node:perf_hooks';
import { createLocalUser } from '../lib/accounts/accounts';
import { applianceIdentity, applianceRoot } from '../lib/backup/appliance';
import type { ManifestMember } from '../lib/backup/manifest';
import { clearBackupDetailsCache, readBackupDetails } from '../lib/backup/details';
import { verifyBackupFile } from '../lib/backup/verify-file';
import { db } from '../lib/db/client';
import { derivedKeys, users } from '../lib/db/schema';
import { runRestore } from '../lib/restore/restore';
import { prepareStaging, stagingSink, syncStaging } from '../lib/restore/stage';
import { LocalFolderTarget } from '../lib/storage/local-folder';
import { DMS } from './make-backup';
import { median, settle } from './measure';

const actor = { id: null, name: 'bench', ip: null };

type Span = { start: number; end: number };
type Named = Span & { what: string };
const rec = {
  scrypt: [] as (Span & { logN: number })[],
  writes: { n: 0, bytes: 0, busyMs: 0, first: Infinity, last: 0 },
  closes: [] as number[],
  fsyncs: [] as Named[],
  renames: [] as (Span & { from: string; to: string })[],
  rms: [] as Named[],
};

/** A path the restore stages into: <appliance>/.restore-<id>/… or <data>/restore/work-<id>/…. */
const isStaged = (p: string) => p.includes(`${path.sep}.restore-`) || p.includes(`${path.sep}work-`);

function timed<A extends unknown[], R>(fn: (...a: A) => R, done: (s: Span, ...a: A) => void): (...a: A) => R {
  return (...a: A) => {
    const start = performance.now();
    try {
      return fn(...a);
    } finally {
      done({ start, end: performance.now() }, ...a);
    }
  };
}

/** Wraps the calls the phases are read off (module objects, shared with lib/: the same require('node:fs')). */
function instrument(): void {
  const fdPaths = new Map<number, string>();
  const openSync = fs.openSync;
  fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...a: unknown[]) => number)(p, ...rest);
    fdPaths.set(fd, String(p));
    return fd;
  }) as typeof fs.openSync;
  // Node's own streams call these through the module object too: any arity, the callback last.
  const write = fs.write as (...a: unknown[]) => void;
  fs.write = ((...a: unknown[]) => {
    const start = performance.now();
    const staged = isStaged(fdPaths.get(a[0] as number) ?? '');
    const cb = a.pop() as (err: Error | null, n: number, ...more: unknown[]) => void;
    write(...a, (err: Error | null, n: number, ...more: unknown[]) => {
      if (staged && !err) {
        const end = performance.now();
        rec.writes.n++;
        rec.writes.bytes += n;
        rec.writes.busyMs += end - start;
        rec.writes.first = Math.min(rec.writes.first, start);
        rec.writes.last = end;
      }
      cb(err, n, ...more);
    });
  }) as typeof fs.write;
  const close = fs.close as (...a: unknown[]) => void;
  fs.close = ((fd: number, cb?: (e: NodeJS.ErrnoException | null) => void) => {
    const staged = isStaged(fdPaths.get(fd) ?? '');
    close(fd, (err: NodeJS.ErrnoException | null) => {
      if (staged) rec.closes.push(performance.now());
      cb?.(err);
    });
  }) as typeof fs.close;
  fs.fsyncSync = timed(fs.fsyncSync, (s, fd) => rec.fsyncs.push({ ...s, what: fdPaths.get(fd) ?? '?' }));
  fs.renameSync = timed(fs.renameSync, (s, from, to) => rec.renames.push({ ...s, from: String(from), to: String(to) }));
  fs.rmSync = timed(fs.rmSync, (s, p) => rec.rms.push({ ...s, what: String(p) }));
  const scrypt = crypto.scrypt as (...a: unknown[]) => void;
  crypto.scrypt = ((...a: unknown[]) => {
    const start = performance.now();
    const cb = a.pop() as (e: Error | null, k: Buffer) => void;
    const opts = (a[3] ?? {}) as crypto.ScryptOptions;
    scrypt(...a, (err: Error | null, key: Buffer) => {
      rec.scrypt.push({ start, end: performance.now(), logN: Math.log2(opts.N ?? opts.cost ?? 16384) });
      cb(err, key);
    });
  }) as typeof crypto.scrypt;
}

const sum = (xs: Span[]) => xs.reduce((a, s) => a + s.end - s.start, 0);

/** The phases (module comment) from what was recorded between t0 and t1. */
function phases(t0: number, t1: number) {
  const big = rec.scrypt.filter((s) => s.logN === 18).sort((a, b) => a.start - b.start);
  const safetyRenames = rec.renames.filter((r) => r.to.includes(`${path.sep}safety${path.sep}`));
  const firstSafety = Math.min(...safetyRenames.map((r) => r.start), t1);
  const firstRename = Math.min(...rec.renames.map((r) => r.start), t1);
  const stagedFsyncs = rec.fsyncs.filter((f) => isStaged(f.what) && f.end <= firstRename);
  const switchIns = rec.renames.filter((r) => isStaged(r.from) && !r.to.includes(`${path.sep}safety${path.sep}`) && r.start < firstSafety && !r.to.includes(`${path.sep}old`));
  const marks = {
    open: big.length > 1 ? big[1]!.start : rec.writes.first,
    verify: Math.max(...rec.closes.filter((c) => c < (stagedFsyncs[0]?.start ?? t1))),
    check: stagedFsyncs[0]?.start ?? NaN,
    fsync: stagedFsyncs.at(-1)?.end ?? NaN,
    switch: switchIns.at(-1)?.end ?? NaN,
    post: firstSafety,
    commit: t1,
  };
  let prev = t0;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(marks)) {
    out[k] = v - prev;
    prev = v;
  }
  const inVerify = (s: Span) => s.start >= marks.open && s.end <= marks.verify;
  return {
    phases: out,
    scrypt: rec.scrypt.map((s) => ({ logN: s.logN, ms: s.end - s.start, at: s.start - t0 })),
    stagedWrites: { n: rec.writes.n, bytes: rec.writes.bytes, busyMs: rec.writes.busyMs, spanMs: rec.writes.last - rec.writes.first },
    fsyncStaged: { n: stagedFsyncs.length, ms: sum(stagedFsyncs) },
    fsyncAll: { n: rec.fsyncs.length, ms: sum(rec.fsyncs) },
    renames: { n: rec.renames.length, ms: sum(rec.renames) },
    rm: { n: rec.rms.length, ms: sum(rec.rms) },
    scryptInVerifyMs: sum(rec.scrypt.filter(inVerify)),
  };
}

async function restore(file: string) {
  instrument();
  const name = applianceIdentity().name;
  // Nothing remembered: the keys derived for the file before are forgotten (key-cache.ts).
  if (process.env.BENCH_RESTORE_COLD === '1') db().delete(derivedKeys).run();
  const elu0 = perf.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // As the Backup page restores a backup picked in the history (the file on the configured storage,
  // its checksum recorded), or with BENCH_RESTORE_AS_FILE=1 as `webconf restore FILE` (the checksum computed).
  const source =
    process.env.BENCH_RESTORE_AS_FILE === '1'
      ? ({ kind: 'file', path: file, origin: 'file', label: file } as const)
      : ({ kind: 'storage', fileName: path.basename(file) } as const);
  await runRestore({ source, actor, confirm: name });
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const elu = perf.eventLoopUtilization(elu0);
  db().$client.close();
  return { ms: t1 - t0, cpuMs: (cpu.user + cpu.system) / 1000, mainThreadBusy: elu.utilization, maxRssMiB: process.resourceUsage().maxRSS / 1024, ...phases(t0, t1) };
}

type Cost = { ms: number; cpuMs: number };

/** Wall and CPU (user + system, threads included) of one step, from the same start as every measured run (measure.ts settle()). */
async function step(fn: () => Promise<unknown>, settleFirst = true): Promise<Cost> {
  if (settleFirst) settle();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Writes each member's bytes through a sink as verifyArchive does (backpressure, then end), from one chunk in memory. */
async function writeMembers(sink: (m: ManifestMember) => Promise<Writable>, members: ManifestMember[], chunk: Buffer): Promise<void> {
  for (const m of members) {
    const w = await sink(m);
    for (let n = 0; n < m.size; n += chunk.length) {
      if (!w.write(chunk.subarray(0, Math.min(chunk.length, m.size - n)))) await new Promise((r) => w.once('drain', r));
    }
    await new Promise<void>((resolve, reject) => w.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

/**
 * The restore's steps one by one, each by the function the restore calls, on
 * the same file and file system, `rounds` times: the median wall and CPU of each.
 */
async function profile(file: string, rounds: number) {
  const target = new LocalFolderTarget(path.dirname(file));
  const name = path.basename(file);
  const dms = DMS;
  const chunk = crypto.randomBytes(64 * 1024);
  const {
    manifest: { members },
    bytes: plainBytes,
  } = await verifyBackupFile(target, name, dms);
  // Staged beside the live data, as the restore stages (same file system, same sink).
  const id = `bench-profile-${process.pid}`;
  const dirs = { applianceNew: path.join(applianceRoot(), `.restore-${id}`, 'new'), database: path.join(path.dirname(applianceRoot()), 'restore', `work-${id}`, 'webconf.db') };
  const unstage = () => {
    fs.rmSync(path.dirname(dirs.applianceNew), { recursive: true, force: true });
    fs.rmSync(path.dirname(dirs.database), { recursive: true, force: true });
  };
  const staged = (fn: (sink: (m: ManifestMember) => Promise<Writable>) => Promise<unknown>) => () => fn(stagingSink(dirs, { faults: false }).sink);
  const steps: Record<string, () => Promise<unknown>> = {
    details: async () => {
      clearBackupDetailsCache();
      await readBackupDetails(target, name, dms);
    },
    scrypt18: () => new Promise((resolve, reject) => crypto.scrypt(dms, 'salt', 32, { N: 2 ** 18, r: 8, p: 1, maxmem: 300 << 20 }, (e, k) => (e ? reject(e) : resolve(k)))),
    readFile: () => pipeline(fs.createReadStream(file), new Writable({ write: (_c, _e, cb) => cb() })),
    sha256InMemory: async () => {
      const h = crypto.createHash('sha256');
      for (let n = 0; n < plainBytes; n += chunk.length) h.update(chunk);
      h.digest();
    },
    verifyNoSink: () => verifyBackupFile(target, name, dms),
    verifyAndStage: staged((sink) => verifyBackupFile(target, name, dms, { sink })),
    // What verifyAndStage left, made durable (runs right after it, with no sync between).
    syncStaging: async () => syncStaging(dirs),
    // The same members written through the same sink from memory, in 64 KiB chunks (what the decryption hands it): the writes alone.
    stageOnly: staged((sink) => writeMembers(sink, members, chunk)),
  };
  // BENCH_PROFILE_STEPS: which steps, in which order (default: all, as listed); e.g. "verifyAndStage,syncStaging,verifyNoSink"
  // shows what a first verification in a fresh process costs against later ones.
  const order = process.env.BENCH_PROFILE_STEPS?.split(',') ?? Object.keys(steps);
  const unknown = order.filter((k) => !(k in steps));
  if (unknown.length) throw new Error(`BENCH_PROFILE_STEPS: no step ${unknown.join(', ')} (steps: ${Object.keys(steps).join(', ')})`);
  const costs: Record<string, Cost[]> = Object.fromEntries(order.map((k) => [k, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const k of order) {
        const fn = steps[k]!;
        // What the last step staged goes before settle(), as the restore's rounds remove the safety copy before theirs:
        // a write into page cache freed just before costs far less than one into memory that has settled (measure.ts).
        if (k !== 'syncStaging') {
          unstage();
          prepareStaging(dirs);
        }
        // syncStaging flushes what verifyAndStage just wrote: a sync before it would have flushed it already.
        costs[k]!.push(await step(fn, k !== 'syncStaging'));
      }
    }
  } finally {
    unstage();
  }
  const med = (k: string, f: (c: Cost) => number) => median(costs[k]!.map(f));
  return {
    plainBytes,
    rounds,
    steps: Object.fromEntries(order.map((k) => [k, { ms: med(k, (c) => c.ms), cpuMs: med(k, (c) => c.cpuMs), roundsMs: costs[k]!.map((c) => c.ms) }])),
  };
}

async function main() {
  const [cmd, file] = process.argv.slice(2);
  let report: unknown;
  if (cmd === 'prepare') {
    if (!db().select().from(users).all().length) {
      await createLocalUser(actor, { username: 'bench-admin', displayName: '', role: 'admin', password: 'bench admin password 0123', confirmPassword: '' });
    }
    report = { ok: true };
  } else if (cmd === 'restore') report = await restore(path.resolve(file!));
  else if (cmd === 'profile') report = await profile(path.resolve(file!), Number(process.env.BENCH_PROFILE_ROUNDS ?? 3));
  else throw new Error(`unknown command ${cmd}`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
