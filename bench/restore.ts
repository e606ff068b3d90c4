/**
 * Restore time against the age CLI, side by side in one run, on the same
 * backup file and the same file system:
 *   webconf:  runRestore of a 1 GiB backup (lib/restore/restore.ts, what the Backup page and
 *             `webconf restore FILE --confirm NAME` run) into the data folder that made it,
 *             picked in the history as on the Backup page (its checksum is the one recorded:
 *             the file is not hashed again); "as a file given" is the same file given as
 *             `webconf restore FILE` takes it (its SHA-256 computed in the verification):
 *             details (header and signed manifest), the full verification (every chunk
 *             authenticated, every member's SHA-256, the file's SHA-256 when not recorded) while staging each
 *             member beside the live data, the staged database checked and prepared, fsync of
 *             the staged trees, the journal, the switch, the post-check, the commit and the
 *             safety copy. In a process of its own (bench/restore-child.ts), timed there over
 *             runRestore alone; the process's wall time (Node and tsx start-up, the imports,
 *             exit) is printed beside it.
 *   age|tar:  `age -d FILE | tar -x -C DIR` into a fresh folder on the same file system, with
 *             Debian's age (its passphrase, the DMS, typed on a terminal: a pty from
 *             script(1)); the command's wall time. For reference, the same followed by `sync`
 *             (the restore makes its files durable; age and tar leave them in the page cache).
 * age runs scrypt at 2^18 once, on the header. The restore of the appliance's own backup runs
 * none: the engine left the keys it derived for the file in the database (key-cache.ts),
 * and the restore carries them over. For reference, "nothing remembered" is the same
 * restore with that cache emptied first (as for a backup this appliance did not make, or
 * after its cache was lost): one scrypt at 2^18 (the details' header; the verification
 * then finds the key remembered) and one at 2^15 (the manifest key).
 *
 * Prints wall and CPU seconds of each (webconf's CPU: its process over runRestore, worker
 * threads included; the others': the command's children), the ratio age_tar_seconds /
 * restore_seconds (target: at least 1.0), the load average after each run, and where the
 * restore's time goes: its phases in the median round (read off the calls it makes, see
 * restore-child.ts). When the restore misses the target (or with BENCH_RESTORE_PROFILE=1;
 * never with 0), its steps are also timed one by one (restore-child.ts profile;
 * BENCH_PROFILE_ROUNDS, default 3; BENCH_PROFILE_STEPS picks and orders them).
 *
 * Each measured run starts after `sync` and a pause of BENCH_SETTLE_S seconds (default 3;
 * why: measure.ts), the order reverses between rounds, and what a run leaves (the
 * extracted folder, the restore's safety copy) is removed before the next one, unmeasured.
 * BENCH_RESTORE_MIB (default 1024) and BENCH_ROUNDS (default 3) tune it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DMS, makeData, ROOT, runBackupChild } from './make-backup';
import { measure, median, settleSeconds } from './measure';

const MiB = 1 << 20;

const mib = Number(process.env.BENCH_RESTORE_MIB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const profileWanted = process.env.BENCH_RESTORE_PROFILE;
const CHILD = path.join(ROOT, 'bench', 'restore-child.ts');

/** The child's environment: the data folder that made the backup. */
const childEnv = (dataRoot: string): NodeJS.ProcessEnv => ({ ...process.env, WEBCONF_DATA_DIR: dataRoot, WEBCONF_LOG_LEVEL: 'silent' });
/** The child's report: its last line of output. */
const childReport = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;

type RestoreReport = {
  ms: number;
  cpuMs: number;
  mainThreadBusy: number;
  maxRssMiB: number;
  phases: Record<string, number>;
  scrypt: { logN: number; ms: number; at: number }[];
  stagedWrites: { n: number; bytes: number; busyMs: number; spanMs: number };
  fsyncStaged: { n: number; ms: number };
  fsyncAll: { n: number; ms: number };
  renames: { n: number; ms: number };
  rm: { n: number; ms: number };
  scryptInVerifyMs: number;
};
type Outcome = { wallMs: number; cpuMs: number; processMs?: number; report?: RestoreReport };

function child(args: string[], dataRoot: string): string {
  const res = spawnSync(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: ROOT, env: childEnv(dataRoot), encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`restore-child ${args[0]} failed: ${res.stderr}`);
  return res.stdout;
}

function webconfRestore(dataRoot: string, file: string, cold = false, asFile = false): Outcome {
  const env = { ...childEnv(dataRoot), BENCH_RESTORE_COLD: cold ? '1' : '0', BENCH_RESTORE_AS_FILE: asFile ? '1' : '0' };
  const { cost, stdout } = measure(process.execPath, ['--import', 'tsx', CHILD, 'restore', file], { cwd: ROOT, env });
  const report = childReport<RestoreReport>(stdout);
  // The state before the restore, kept as a safety copy: not needed here (the next restore makes its own).
  fs.rmSync(path.join(dataRoot, 'restore', 'safety'), { recursive: true, force: true });
  return { wallMs: report.ms, cpuMs: report.cpuMs, processMs: cost.wallMs, report };
}

/** `age -d FILE | tar -x -C DIR` (and `; sync`), the DMS typed on script(1)'s pty; pipefail: a failing age fails the run. */
function ageTar(file: string, scratch: string, thenSync: boolean): Outcome {
  const out = fs.mkdtempSync(path.join(scratch, 'age-tar-'));
  try {
    const cmd = `set -o pipefail; age -d '${file}' | tar -x -C '${out}'${thenSync ? '; sync' : ''}`;
    const { cost } = measure('script', ['-qec', cmd, '/dev/null'], { input: `${DMS}\n`, env: { ...process.env, SHELL: '/bin/bash' } });
    const left = fs.readdirSync(out).sort().join(', ');
    if (left !== 'database, firmware, manifest.json, system') throw new Error(`age | tar left ${left || 'nothing'} in ${out}, not the backup's members`);
    return cost;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const s = (ms: number) => (ms / 1000).toFixed(2).padStart(7);

function printPhases(r: RestoreReport): void {
  const p = r.phases;
  const line = (name: string, ms: number, what: string) => console.log(`  ${name.padEnd(8)}${s(ms)} s  ${((ms / r.ms) * 100).toFixed(0).padStart(3)} %  ${what}`);
  // Which phase each scrypt ran in: the phases follow each other from runRestore's start.
  const ends = Object.entries(p).reduce<[string, number][]>((acc, [k, ms]) => [...acc, [k, (acc.at(-1)?.[1] ?? 0) + ms]], []);
  const phaseAt = (at: number) => ends.find(([, end]) => at < end)?.[0] ?? 'after';
  const scrypt = r.scrypt.map((x) => `2^${x.logN} ${(x.ms / 1000).toFixed(2)} s (${phaseAt(x.at)})`).join(', ');
  console.log(`\nWhere the restore's time goes (median round, ${s(r.ms).trim()} s, CPU ${s(r.cpuMs).trim()} s, main thread busy ${(r.mainThreadBusy * 100).toFixed(0)} %, peak RSS ${r.maxRssMiB.toFixed(0)} MiB):`);
  line('open', p.open!, 'details: age header, header MAC, signed manifest (scrypt only for keys not remembered)');
  line('verify', p.verify!, `verification + staging: decrypt (verify-local.ts, worker threads), tar, SHA-256 of members and file, ${r.stagedWrites.n} writes of ${(r.stagedWrites.bytes / MiB).toFixed(0)} MiB (their latencies sum to ${s(r.stagedWrites.busyMs).trim()} s, overlapped); scrypt in it ${s(r.scryptInVerifyMs).trim()} s`);
  line('check', p.check!, 'integrity check, plan, staged database prepared for this appliance');
  line('fsync', p.fsync!, `syncStaging: ${r.fsyncStaged.n} fsyncs in the staged trees`);
  line('switch', p.switch!, 'journal, database closed, live items renamed aside and staged ones in');
  line('post', p.post!, 'database reopened, post-check (integrity, foreign keys, schema, the sealed DMS, an account that can sign in), commit record');
  line('commit', p.commit!, 'safety copy, pruning, work folders removed');
  console.log(`  scrypt calls (the age CLI makes one 2^18): ${scrypt}; ${s(r.scrypt.reduce((a, x) => a + x.ms, 0)).trim()} s in all`);
  console.log(`  all fsyncs ${r.fsyncAll.n} (${s(r.fsyncAll.ms).trim()} s), renames ${r.renames.n} (${s(r.renames.ms).trim()} s), rm ${r.rm.n} (${s(r.rm.ms).trim()} s)`);
}

type Profile = { plainBytes: number; rounds: number; steps: Record<string, { ms: number; cpuMs: number; roundsMs: number[] }> };

function printProfile({ plainBytes, rounds, steps: p }: Profile): void {
  const mibs = plainBytes / MiB;
  const scrypt = p.scrypt18?.ms ?? NaN;
  // MiB/s of the members' bytes, without the one scrypt 2^18 of the steps that open the file.
  const step = (name: string, key: string, what: string, opens = false) => {
    if (!p[key]) return; // not among BENCH_PROFILE_STEPS
    const { ms, cpuMs, roundsMs } = p[key]!;
    const rate = key === 'details' || key === 'scrypt18' || key === 'syncStaging' ? '' : (mibs / ((ms - (opens ? scrypt : 0)) / 1000)).toFixed(0);
    console.log(`  ${name.padEnd(16)}${s(ms)} ${s(cpuMs)} ${rate.padStart(7)}  ${what} (rounds ${roundsMs.map((x) => (x / 1000).toFixed(2)).join(', ')})`);
  };
  console.log(
    `\nThe restore's steps one by one (restore-child.ts profile: median of ${rounds} rounds, each step but syncStaging after sync + ${settleSeconds} s; ${mibs.toFixed(0)} MiB of members;` +
      `\nMiB/s without the scrypt 2^18 of the steps that open the file):`,
  );
  console.log(`  ${''.padEnd(16)} wall s   CPU s   MiB/s`);
  step('details', 'details', 'readBackupDetails: scrypt 2^18 + 2^15, a few hundred KiB read');
  step('scrypt 2^18', 'scrypt18', 'one scrypt alone');
  step('read file', 'readFile', 'the file read through a stream, nothing done with it');
  step('sha256 (memory)', 'sha256InMemory', 'one SHA-256 over as many bytes in memory (the verification runs two: members, file)');
  step('verify', 'verifyNoSink', 'verifyBackupFile without a sink: scrypt 2^18 + 2^15, decrypt, tar, both SHA-256', true);
  step('verify + stage', 'verifyAndStage', "verifyBackupFile with the restore's staging sink (the restore's verify phase)", true);
  step('syncStaging', 'syncStaging', 'fsync of what verify + stage wrote, right after it');
  step('stage only', 'stageOnly', 'the same members written through the staging sink from memory, 64 KiB at a time');
  const d = (a: string, b: string) => s(p[a]!.ms - p[b]!.ms).trim();
  if (p.verifyAndStage && p.verifyNoSink && p.stageOnly) console.log(`  so: staging inside the verification adds ${d('verifyAndStage', 'verifyNoSink')} s (verify + stage − verify), against ${s(p.stageOnly!.ms).trim()} s for the writes alone`);
}

execFileSync('bash', [path.join(ROOT, 'scripts', 'install-debs.sh'), 'age', 'bsdutils'], { stdio: 'inherit' });
const ageVersion = execFileSync('age', ['--version'], { encoding: 'utf8' }).trim();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-bench-restore-'));
try {
  const dataRoot = path.join(work, 'data');
  const target = path.join(work, 'target');
  fs.mkdirSync(target);
  makeData(dataRoot, mib);
  child(['prepare'], dataRoot);
  const backup = runBackupChild(dataRoot, target);
  const file = path.join(target, backup.fileName);
  console.log(`made a ${mib} MiB backup: ${backup.fileName}, ${(backup.fileBytes / MiB).toFixed(1)} MiB`);

  const RUNS: { name: string; run: () => Outcome }[] = [
    { name: 'webconf restore', run: () => webconfRestore(dataRoot, file) },
    { name: '  nothing remembered (scrypt)', run: () => webconfRestore(dataRoot, file, true) },
    { name: '  as a file given (file hashed)', run: () => webconfRestore(dataRoot, file, false, true) },
    { name: `age -d | tar -x (age ${ageVersion})`, run: () => ageTar(file, work, false) },
    { name: 'age -d | tar -x; sync', run: () => ageTar(file, work, true) },
  ];
  const outcomes = RUNS.map(() => [] as Outcome[]);
  // The 1-minute load after each run: this process's own runs make about 1 of it; more means other work shared the cores.
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = RUNS.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      outcomes[i]!.push(RUNS[i]!.run());
      loads.push(os.loadavg()[0]!);
    }
  }
  const wall = outcomes.map((o) => median(o.map((x) => x.wallMs)));
  const cpu = outcomes.map((o) => median(o.map((x) => x.cpuMs)));
  const ours = wall[0]!;
  const age = wall[3]!;
  console.log(`\nRestore of a ${mib} MiB backup (median of ${rounds} rounds, order alternating, each after sync + ${settleSeconds} s):`);
  console.log(`  ${''.padEnd(34)}wall s  age÷it   CPU s  rounds (wall s)`);
  for (const [i, { name }] of RUNS.entries()) {
    const all = outcomes[i]!.map((x) => (x.wallMs / 1000).toFixed(2)).join(', ');
    console.log(`  ${name.padEnd(32)}${s(wall[i]!)} ${(age / wall[i]!).toFixed(2).padStart(7)} ${s(cpu[i]!)}  ${all}`);
  }
  const processMs = median(outcomes[0]!.map((x) => x.processMs!));
  console.log(`  webconf restore, its process's wall time (start-up, imports and exit included): ${s(processMs).trim()} s`);
  console.log(`  load average after the runs: ${loads.map((l) => l.toFixed(1)).join(', ')} (${os.cpus().length} cores)`);
  const ratio = age / ours;
  const ratioCold = age / wall[1]!;
  const ratioFile = age / wall[2]!;
  console.log(
    `ratio age_tar_seconds / restore_seconds: ${ratio.toFixed(2)} (target: at least 1.0) ${ratio >= 1 ? 'OK' : 'BELOW TARGET'}; with nothing remembered ${ratioCold.toFixed(2)}; as a file given ${ratioFile.toFixed(2)}`,
  );
  const medianRound = [...outcomes[0]!].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(rounds / 2)]!;
  printPhases(medianRound.report!);
  if (profileWanted === '1' || (profileWanted !== '0' && ratio < 1)) {
    printProfile(childReport<Profile>(child(['profile', file], dataRoot)));
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
