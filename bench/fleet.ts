/**
 * Device backups at fleet scale against a shell pipeline, side by side in one
 * run: BENCH_FLEET_DEVICES (default 200) simulated OPNsense devices
 * (tests/helpers/ssh-devices.ts, ssh2 servers in this process, each on its
 * own loopback port with its own ed25519 host key), each exporting a 200 KiB
 * config.xml, backed up to Ceph's RADOS Gateway on loopback
 * (tests/helpers/ceph-rgw.ts), 16 devices at a time by both:
 *
 *   console:  lib/fleet's own run (startFleetRun of every device, awaited): per device an SSH
 *             session through lib/devices (host key pinned, key login, keepalives, the
 *             watchdog), the export checked and normalised for unchanged detection, age to the
 *             organisation's X25519 recipient, streamed to S3 through lib/s3, a backup record
 *             and a task record in SQLite, retention looked up. In a process of its own
 *             (bench/fleet-child.ts) on a data folder set up once through lib/fleet (S3
 *             configuration checked and saved, the recipient, every device added, its host key
 *             pinned, approved); timed there from startFleetRun to the end of waitForFleetRun.
 *   shell:    `xargs -P 16` running for each device
 *               ssh -i KEY -o StrictHostKeyChecking=yes -o UserKnownHostsFile=FILE -p PORT \
 *                 backup@127.0.0.1 cat /conf/config.xml | age -r RECIPIENT \
 *                 | s3cmd -c CFG put - s3://BUCKET/FOLDER/DEVICE/TIMESTAMP.xml.age
 *             with Debian's OpenSSH client (host keys from ssh-keyscan, each checked against the
 *             fingerprint the device reports, in a known_hosts file), age and s3cmd; the
 *             command's wall time, from spawning xargs to its exit.
 * Fair: the same devices, the same key login (one ed25519 client key both use, so neither pays
 * for a password prompt or a second round trip), the same concurrency, the same recipient
 * type (X25519, no scrypt), the same gateway and bucket, an object per device under
 * folder/device/timestamp. The console does more per device than the pipeline (checks the
 * export, records it), and its time leaves out its process start-up (the console is a
 * running service; the pipeline's tools start per device, which is how such a script runs).
 *
 * Every run writes into a folder of its own (round-N-console-200/, round-N-shell/, ...): the
 * console's unchanged detection and retention count per storage location (bucket and
 * folder), so each console run backs up every device anew, as the first run of a new
 * configuration would, and deletes nothing (retention 100, above the runs made). After each
 * run, unmeasured: the folder's objects are listed with s3cmd and must be one per device
 * (and the console's tasks all SUCCEEDED, none unchanged), one device's object is fetched
 * and decrypted with Debian's age and the organisation identity and must equal what the
 * device served, then the folder is deleted (the OSD keeps its objects in memory) and must
 * list empty.
 *
 * Peak RSS: process.resourceUsage().maxRSS of the console's process, one process per run, at
 * BENCH_FLEET_SMALL (default 50) devices and at the full count, each round, so the two sizes
 * do not share a peak; it must not grow with the device count (the run holds at most 16
 * exports at a time, not the fleet's). The 50-device run is timed as well but not part of
 * the ratio. Beside the peak, the child samples V8's heap and the Buffers outside it every
 * 50 ms and reads the heap after a full GC at the end (what the run kept). The run reuses
 * its export and age-file buffers from device to device (lib/memory/buffer-pool.ts), so the
 * Buffers stay at what 16 devices in flight need; what is left of a difference between the
 * two sizes is V8's old generation, which grows to about twice its live size before a full
 * collection, so a short run ends below that ceiling and a long one reaches it (to see it
 * level off: BENCH_FLEET_DEVICES=400).
 *
 * Each measured run starts after `sync` and a pause of BENCH_SETTLE_S seconds (measure.ts);
 * the order reverses between rounds (BENCH_ROUNDS, default 3). Prints devices per minute of
 * each (median of rounds), the ratio console / shell (target: at least 1.0), CPU seconds of
 * each (the console's process over the run; the pipeline's processes), this process's CPU
 * over each run (the simulated devices' side: about the same for both), and the load average.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { startCephRgw, type CephRgw } from '../tests/helpers/ceph-rgw';
import { startDevices, type SimulatedFleet } from '../tests/helpers/ssh-devices';
import type { RunReport, Setup } from './fleet-child';
import { median, settleSeconds } from './measure';

const exec$ = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const CHILD = path.join(ROOT, 'bench', 'fleet-child.ts');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const count = Number(process.env.BENCH_FLEET_DEVICES ?? 200);
const small = Math.min(count, Number(process.env.BENCH_FLEET_SMALL ?? 50));
const CONCURRENCY = 16;
const CONFIG_BYTES = 200 * 1024;
const BUCKET = 'fleet-bench';

/** No AWS_* variables (AWS_CA_BUNDLE breaks tools against plain HTTP) and no proxies, for every child alike. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^AWS_/.test(k) && !/^(https?|all|no)_proxy$/i.test(k)) env[k] = v;
  return { ...env, ...extra } as NodeJS.ProcessEnv;
}

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
/** CPU ms of the children this process has waited for, and theirs (cutime + cstime, proc(5)). */
function childrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) / CLOCK_TICKS_PER_S) * 1000;
}

/** Runs a command without blocking this process (the simulated devices answer from its event loop). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr = (stderr + c).slice(-20_000)));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function settle(): Promise<void> {
  await exec$('sync');
  await new Promise((r) => setTimeout(r, settleSeconds * 1000));
}

type Outcome = { ms: number; cpuMs: number; devicesCpuMs: number; n: number; report?: RunReport };

let gw: CephRgw;
let fleet: SimulatedFleet;
let work: string;
let s3cfg: string;
let recipient: string;
let names: string[];
const s3cmdEnv = () => cleanEnv({ HOME: work });

async function s3cmd(args: string[]): Promise<string> {
  const r = await run('s3cmd', ['-c', s3cfg, ...args], s3cmdEnv());
  if (r.code !== 0) throw new Error(`s3cmd ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function listed(folder: string): Promise<string[]> {
  const out = await s3cmd(['ls', '--recursive', `s3://${BUCKET}/${folder}/`]);
  return out
    .split('\n')
    .map((l) => /s3:\/\/\S+/.exec(l)?.[0])
    .filter((k): k is string => !!k);
}

/**
 * What a run must have left: one object per device under folder/device/, one of them
 * decrypting to what its device served last; then the folder is removed.
 */
async function checkAndClean(folder: string, n: number): Promise<void> {
  const keys = await listed(folder);
  const devs = new Set(keys.map((k) => k.slice(`s3://${BUCKET}/${folder}/`.length).split('/')[0]));
  if (keys.length !== n || devs.size !== n) throw new Error(`${folder}: ${keys.length} objects for ${devs.size} devices, expected ${n}`);
  const i = n - 1;
  const key = keys.find((k) => k.includes(`/${names[i]}/`))!;
  const enc = path.join(work, 'check.age');
  const plain = path.join(work, 'check.xml');
  await s3cmd(['get', '--force', key, enc]);
  await exec$('age', ['-d', '-i', path.join(work, 'org.key'), '-o', plain, enc]);
  if (!fs.readFileSync(plain).equals(fleet.devices[i]!.served.at(-1)!)) throw new Error(`${key} does not decrypt to what ${names[i]} served`);
  fs.rmSync(enc);
  fs.rmSync(plain);
  await s3cmd(['del', '--recursive', '--force', `s3://${BUCKET}/${folder}/`]);
  const left = await listed(folder);
  if (left.length) throw new Error(`${folder}: ${left.length} objects left after deleting it`);
  // The simulated devices keep every export they served; only the last one of a run is checked.
  for (const d of fleet.devices) d.served.length = 0;
}

async function consoleRun(folder: string, n: number): Promise<Outcome> {
  await settle();
  const dev0 = process.cpuUsage();
  const r = await run(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, 'run', folder, String(n)], cleanEnv({ WEBCONF_DATA_DIR: path.join(work, 'data'), WEBCONF_LOG_LEVEL: 'silent' }));
  const dev = process.cpuUsage(dev0);
  if (r.code !== 0) throw new Error(`fleet-child run failed (${r.code}): ${r.stderr}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunReport;
  if (report.status !== 'succeeded' || report.succeeded !== n || report.unchanged !== 0) {
    throw new Error(`console run ${folder}: ${report.status}, ${report.succeeded} of ${n} succeeded, ${report.unchanged} unchanged; ${report.failed.slice(0, 5).join('; ')}`);
  }
  await checkAndClean(folder, n);
  return { ms: report.ms, cpuMs: report.cpuMs, devicesCpuMs: (dev.user + dev.system) / 1000, n, report };
}

async function shellRun(folder: string, n: number): Promise<Outcome> {
  const list = path.join(work, 'devices.txt');
  fs.writeFileSync(list, names.slice(0, n).map((name, i) => `${name} ${fleet.devices[i]!.port}\n`).join(''));
  // $1 device name, $2 port; pipefail: a failing ssh or age fails the device, and xargs then exits 123.
  const perDevice = [
    'set -o pipefail',
    `ssh -F /dev/null -i '${work}/id_ed25519' -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='${work}/known_hosts' -o LogLevel=ERROR -p "$2" backup@127.0.0.1 cat /conf/config.xml` +
      ` | age -r '${recipient}'` +
      ` | s3cmd -c '${s3cfg}' -q put - "s3://${BUCKET}/${folder}/$1/$(date -u +%Y-%m-%dT%H-%M-%S.%3NZ).xml.age"`,
  ].join('\n');
  const cmd = `xargs -P ${CONCURRENCY} -n 2 bash -c '${perDevice.replace(/'/g, `'\\''`)}' _ < '${list}'`;
  await settle();
  const cpu0 = childrenCpuMs();
  const dev0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await run('bash', ['-c', cmd], s3cmdEnv());
  const ms = performance.now() - t0;
  const cpuMs = childrenCpuMs() - cpu0;
  const dev = process.cpuUsage(dev0);
  if (r.code !== 0) throw new Error(`shell pipeline failed (${r.code}): ${r.stderr}`);
  await checkAndClean(folder, n);
  return { ms, cpuMs, devicesCpuMs: (dev.user + dev.system) / 1000, n };
}

async function setUp(): Promise<void> {
  await exec$('bash', [path.join(ROOT, 'scripts', 'install-debs.sh'), 'age', 'openssh-client', 's3cmd', 'ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common']);
  gw = await startCephRgw();
  await gw.createBucket(BUCKET);
  s3cfg = path.join(work, 's3cmd.cfg');
  // Path-style, plain HTTP, SigV4, as tests/helpers/ceph-rgw.ts configures its own s3cmd.
  fs.writeFileSync(
    s3cfg,
    ['[default]', `access_key = ${gw.accessKeyId}`, `secret_key = ${gw.secretAccessKey}`, `host_base = 127.0.0.1:${gw.port}`, `host_bucket = 127.0.0.1:${gw.port}`, 'bucket_location = us-east-1', 'use_https = False', 'signature_v2 = False', 'guess_mime_type = False', 'progress_meter = False', ''].join('\n'),
    { mode: 0o600 },
  );
  await exec$('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-bench', '-f', path.join(work, 'id_ed25519')]);
  const clientPub = fs.readFileSync(path.join(work, 'id_ed25519.pub'), 'utf8').trim();
  await exec$('age-keygen', ['-o', path.join(work, 'org.key')]);
  recipient = (await exec$('age-keygen', ['-y', path.join(work, 'org.key')])).stdout.trim();
  fleet = await startDevices(Array.from({ length: count }, () => ({ kind: 'opnsense' as const, configBytes: CONFIG_BYTES, authorizedKey: clientPub })));
  names = fleet.devices.map((_, i) => `fw-${String(i + 1).padStart(4, '0')}`);

  // The pipeline's known_hosts: each device's key as ssh-keyscan reads it, checked against the fingerprint the device has.
  const limit = pLimit(8);
  const lines = await Promise.all(
    fleet.devices.map((d) =>
      limit(async () => {
        const { stdout } = await exec$('ssh-keyscan', ['-t', 'ed25519', '-p', String(d.port), '127.0.0.1']);
        const line = stdout.split('\n').find((l) => l.includes('ssh-ed25519'))!;
        return { d, line };
      }),
    ),
  );
  const knownHosts = path.join(work, 'known_hosts');
  fs.writeFileSync(knownHosts, lines.map((l) => `${l.line}\n`).join(''));
  const fps = (await exec$('ssh-keygen', ['-l', '-f', knownHosts])).stdout;
  for (const { d } of lines) {
    if (!fps.includes(`${d.fingerprint} [127.0.0.1]:${d.port} `)) throw new Error(`ssh-keyscan of port ${d.port} did not read the key ${d.fingerprint}`);
  }

  const setup: Setup = {
    s3: { endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, accessKeyId: gw.accessKeyId, secretKey: gw.secretAccessKey },
    recipient,
    devices: fleet.devices.map((d, i) => ({ name: names[i]!, host: d.host, port: d.port, username: d.username, privateKey: fs.readFileSync(path.join(work, 'id_ed25519'), 'utf8'), fingerprint: d.fingerprint })),
  };
  fs.writeFileSync(path.join(work, 'setup.json'), JSON.stringify(setup), { mode: 0o600 });
  const r = await run(process.execPath, ['--import', 'tsx', CHILD, 'setup', path.join(work, 'setup.json')], cleanEnv({ WEBCONF_DATA_DIR: path.join(work, 'data'), WEBCONF_LOG_LEVEL: 'silent' }));
  if (r.code !== 0) throw new Error(`fleet-child setup failed (${r.code}): ${r.stderr}`);
}

const perMin = (o: Outcome) => o.n / (o.ms / 60_000);
const sec = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-bench-fleet-'));
  try {
    await setUp();
    const ssh = (await exec$('ssh', ['-V'])).stderr.trim();
    const age = (await exec$('age', ['--version'])).stdout.trim();
    const s3cmdV = (await exec$('s3cmd', ['--version'], { env: s3cmdEnv() })).stdout.trim();
    console.log(`${count} simulated devices (${CONFIG_BYTES / 1024} KiB config.xml each) set up in the console; Ceph RGW ready in ${gw.startSeconds.toFixed(0)} s; ${ssh}, age ${age}, ${s3cmdV}`);

    const RUNS: { name: string; run: (round: number) => Promise<Outcome> }[] = [
      { name: `console, ${count} devices`, run: (r) => consoleRun(`round-${r}-console-${count}`, count) },
      { name: `shell, ${count} devices`, run: (r) => shellRun(`round-${r}-shell-${count}`, count) },
      { name: `console, ${small} devices`, run: (r) => consoleRun(`round-${r}-console-${small}`, small) },
    ];
    const outcomes = RUNS.map(() => [] as Outcome[]);
    const loads: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = RUNS.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        outcomes[i]!.push(await RUNS[i]!.run(r + 1));
        loads.push(os.loadavg()[0]!);
      }
    }

    const rate = outcomes.map((o) => median(o.map(perMin)));
    console.log(`\nDevice backups to Ceph RGW, ${CONCURRENCY} at a time (median of ${rounds} rounds, order alternating, each after sync + ${settleSeconds} s):`);
    console.log(`  ${''.padEnd(24)}devices/min   wall s   CPU s  devices' CPU s  rounds (devices/min)`);
    for (const [i, { name }] of RUNS.entries()) {
      const o = outcomes[i]!;
      const all = o.map((x) => perMin(x).toFixed(0)).join(', ');
      console.log(
        `  ${name.padEnd(24)}${rate[i]!.toFixed(0).padStart(11)} ${sec(median(o.map((x) => x.ms))).padStart(8)} ${sec(median(o.map((x) => x.cpuMs))).padStart(7)} ${sec(median(o.map((x) => x.devicesCpuMs))).padStart(15)}  ${all}`,
      );
    }
    console.log(`  (CPU: the console's process over the run / the pipeline's processes; devices': this process, which serves the simulated devices)`);
    console.log(`  load average after the runs: ${loads.map((l) => l.toFixed(1)).join(', ')} (${os.cpus().length} cores)`);
    const ratio = rate[0]! / rate[1]!;
    console.log(`ratio console / shell devices per minute: ${ratio.toFixed(2)} (target: at least 1.0) ${ratio >= 1 ? 'OK' : 'BELOW TARGET'}`);

    const rss = (i: number) => outcomes[i]!.map((x) => x.report!.maxRssMiB);
    const before = (i: number) => outcomes[i]!.map((x) => x.report!.rssBeforeMiB);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    const big = Math.max(...rss(0));
    const little = Math.max(...rss(2));
    console.log(`\nThe console's peak RSS (process.resourceUsage().maxRSS, one process per run; RSS before the run in brackets), MiB:`);
    console.log(`  at ${String(small).padStart(3)} devices: ${fmt(rss(2))}  (${fmt(before(2))})`);
    console.log(`  at ${String(count).padStart(3)} devices: ${fmt(rss(0))}  (${fmt(before(0))})`);
    const growth = big - little;
    const mem = (i: number) => outcomes[i]!.map((x) => `${x.report!.peakHeapMiB.toFixed(0)}/${x.report!.peakArrayBuffersMiB.toFixed(0)}/${x.report!.heapAfterGcMiB.toFixed(0)}`).join(', ');
    console.log(`  peak heap in use / peak Buffers / heap after a full GC at the end, MiB: at ${small} ${mem(2)}; at ${count} ${mem(0)}`);
    console.log(`peak RSS at ${count} − at ${small} devices (highest of each): ${growth.toFixed(0)} MiB (${((growth / little) * 100).toFixed(0)} %)`);
    // What a run keeps: the heap after a full GC at its end, against the smaller run's.
    const kept = (i: number) => Math.max(...outcomes[i]!.map((x) => x.report!.heapAfterGcMiB));
    const keptGrowth = kept(0) - kept(2);
    console.log(
      `heap kept after the run (full GC): ${kept(2).toFixed(0)} MiB at ${small}, ${kept(0).toFixed(0)} MiB at ${count} devices: ` +
        (keptGrowth <= kept(2) * 0.1 ? 'OK, nothing kept per device' : `GROWS by ${keptGrowth.toFixed(0)} MiB`),
    );
    console.log(
      `  (Buffers are reused from device to device, so their peak follows the 16 in flight; V8's old generation grows to about` +
        `\n  twice its live size before a full collection: a short run ends below that, a long one reaches it and levels off)`,
    );
  } finally {
    await fleet?.close();
    await gw?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
