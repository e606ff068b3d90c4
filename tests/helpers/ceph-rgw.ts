import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './console-server';

/**
 * A real S3 gateway for integration tests: a single-node Ceph cluster on
 * loopback with RADOS Gateway in front, from Debian's packages (ceph-mon,
 * ceph-osd, radosgw; the `ceph` and `radosgw-admin` tools from ceph-common),
 * after /work/shared/recipes/ceph-rgw-single-node.sh:
 *
 *  - one monitor on 127.0.0.1:<free port>, one OSD whose objects live in memory
 *    (memstore; nothing reaches a disk), radosgw (beast frontend) on
 *    127.0.0.1:<free port>. No manager daemon: the gateway does not need one.
 *  - The daemons trust each other without keys (auth none); S3 clients still
 *    sign with SigV4 and the gateway checks the signature against its users.
 *  - Every pool has one replica and 8 placement groups, and the monitor commits
 *    its state every 10 ms instead of every second (paxos propose interval):
 *    the gateway creates its pools one monitor command at a time at its first
 *    start, which takes ~9 s at Ceph's defaults and ~2 s this way.
 *  - The daemons run in the foreground (-f) as children of this process; their
 *    config, data, logs, pid files and admin sockets are in one temp folder.
 *
 * One user ('webconf-test', random keys) is created at start; createUser()
 * makes more (another user's bucket is "access denied"). stopGateway() kills
 * radosgw alone (the cluster and what is stored stay) and startGateway() brings
 * it back on the same port, for faults in the middle of a transfer.
 *
 * s3cmd (Debian's s3cmd, an independent S3 client written in Python) is the
 * peer that checks what lib/s3 stored: s3cmd() runs it with a config file in
 * the temp folder (path-style, plain HTTP, SigV4).
 *
 * stop() kills every daemon and removes the folder; a process that ends without
 * stop() leaves nothing running either (see the watchdog). Bucket names need
 * at least 3 characters; multipart parts at least 5 MiB except the last, as on
 * AWS. Needs root for nothing in particular, only the packages.
 */

export type S3Keys = { accessKeyId: string; secretAccessKey: string };

export type CephRgwOptions = {
  /** How long to wait for each step (monitor, OSD, gateway answering); default 60 s. */
  timeoutMs?: number;
};

export type CephRgw = S3Keys & {
  host: '127.0.0.1';
  /** The gateway's port. */
  port: number;
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Any region is accepted by the gateway (SigV4 signs with it); this one is used by the helpers. */
  region: 'us-east-1';
  /** The temp folder (ceph.conf, mon/, osd/, log/, run/, s3cmd configs). */
  dir: string;
  /** Seconds from start to the gateway answering with its first user created. */
  startSeconds: number;
  /** A new S3 user with random keys. */
  createUser(uid: string): Promise<S3Keys>;
  /** Creates a bucket (through s3cmd mb) owned by the main user, or by `keys`' user. */
  createBucket(name: string, keys?: S3Keys): Promise<void>;
  /**
   * Runs s3cmd with its own config (this gateway, the main user's keys or `keys`),
   * without the AWS_* variables of this environment (AWS_CA_BUNDLE makes some
   * tools fail against plain HTTP). Rejects with its stderr when it exits non-zero.
   */
  s3cmd(args: string[], opts?: { keys?: S3Keys; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** SIGKILL radosgw (only); requests fail with "connection refused" until startGateway(). */
  stopGateway(): Promise<void>;
  /** Starts radosgw again on the same port and waits until it answers. */
  startGateway(): Promise<void>;
  /** The last part of a daemon's log file. */
  log(daemon: 'mon' | 'osd' | 'rgw', chars?: number): string;
  /** Kill every daemon, remove the temp folder. Safe to call twice. */
  stop(): Promise<void>;
};

const HOST = '127.0.0.1';
const RGW_NAME = 'client.rgw.test';
const MAIN_UID = 'webconf-test';
const OUTPUT_CAP = 64 * 1024;

const BINARIES: Record<string, string> = {
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  radosgw: 'radosgw',
  ceph: 'ceph-common',
  'radosgw-admin': 'ceph-common',
  s3cmd: 's3cmd',
};

function requirements(): void {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/bin']);
  const missing = Object.keys(BINARIES).filter((b) => !dirs.some((d) => d && fs.existsSync(path.join(d, b))));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((b) => BINARIES[b]))].join(', ');
    throw new Error(`The Ceph S3 test gateway needs the Debian packages ${pkgs} (missing: ${missing.join(', ')}); run scripts/install-test-deps.sh`);
  }
}

/** The environment of every child: no AWS_* variables (AWS_CA_BUNDLE breaks plain-HTTP tools) and no proxies. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^AWS_/.test(k) || /^(https?|all|no)_proxy$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra } as NodeJS.ProcessEnv;
}

function cephConf(dir: string, monPort: number, s3Port: number): string {
  // The recipe's config, with pools of 8 PGs and a fast monitor. "public addr" only in the
  // OSD's section: in [global] it makes the monitor listen with msgr2 only, and the tools
  // (which speak msgr1 to a monitor on a port other than 3300) then wait for it forever.
  return `[global]
fsid = ${crypto.randomUUID()}
mon host = ${HOST}:${monPort}
run dir = ${dir}/run
pid file = ${dir}/run/$name.pid
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
paxos propose interval = 0.01
paxos min wait = 0.001
[mon.a]
mon data = ${dir}/mon
mon addr = ${HOST}:${monPort}
mon data avail crit = 0
log file = ${dir}/log/mon.log
[osd.0]
osd data = ${dir}/osd
osd objectstore = memstore
memstore device bytes = 1073741824
public addr = ${HOST}
cluster addr = ${HOST}
osd class load list = *
osd class default list = *
log file = ${dir}/log/osd.log
[${RGW_NAME}]
# without this the gateway's first contact with the monitor fails with EACCES (-13)
ms mon client mode = crc
rgw frontends = beast endpoint=${HOST}:${s3Port}
rgw data = ${dir}/rgw
rgw dns name = localhost
log file = ${dir}/log/rgw.log
`;
}

/**
 * The watchdog: a shell, child of this process, reading "+PID" / "-PID" lines
 * from a pipe only this process holds. At EOF (this process ended without
 * stop(): the kernel closes the pipe) it SIGKILLs the daemons still listed and
 * removes the temp folder ($1). stop() SIGKILLs it once it has cleaned up itself.
 */
const WATCHDOG_SCRIPT = `pids=" "
while read -r line; do
  case $line in
    +*) pids="$pids\${line#+} " ;;
    -*) pids=$(printf '%s' "$pids" | sed "s/ \${line#-} / /") ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
rm -rf -- "$1"`;

function run(cmd: string, args: string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: opts.env ?? childEnv(), timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `killed after ${opts.timeoutMs} ms` : `exit code ${String(err.code)}`;
        reject(new Error(`${cmd} ${args.join(' ')} failed (${why}):\n${String(stderr).slice(-4000)}`));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** True once the gateway answers any HTTP request (an anonymous GET / lists no buckets). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function randomKeys(): S3Keys {
  // The shapes radosgw itself generates: 20 upper-case letters/digits, 40 characters.
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const pick = (n: number, set: string) => Array.from(crypto.randomBytes(n), (b) => set[b % set.length]).join('');
  return { accessKeyId: pick(20, alnum), secretAccessKey: pick(40, `${alnum}abcdefghijklmnopqrstuvwxyz`) };
}

function tail(file: string, chars: number): string {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.slice(-chars);
  } catch {
    return '';
  }
}

export async function startCephRgw(opts: CephRgwOptions = {}): Promise<CephRgw> {
  requirements();
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  // Short: admin sockets live under run/ and a Unix socket path has at most 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ceph-rgw-'));
  for (const d of ['log', 'mon', 'osd', 'run', 'rgw', 's3cmd']) fs.mkdirSync(path.join(dir, d), { mode: 0o700 });
  const conf = path.join(dir, 'ceph.conf');

  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'ceph-rgw-watchdog', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  watchdog.stdin!.on('error', () => undefined);

  const daemons = new Map<string, ChildProcess>();
  const output = new Map<string, string>();
  let stopped = false;

  const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;

  /** Starts a daemon in the foreground; its stdout/stderr are kept (capped) for error messages. */
  const launch = (name: string, cmd: string, args: string[]) => {
    const p = spawn(cmd, ['-f', '-c', conf, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.set(name, p);
    output.set(name, '');
    const keep = (d: Buffer) => output.set(name, (output.get(name)! + d.toString()).slice(-OUTPUT_CAP));
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    watchdog.stdin!.write(`+${p.pid}\n`);
    p.once('exit', () => watchdog.stdin!.write(`-${p.pid}\n`));
    return p;
  };

  const kill = async (name: string) => {
    const p = daemons.get(name);
    if (!p) return;
    daemons.delete(name);
    if (exited(p)) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    // Memstore: nothing to flush, nothing to keep. SIGKILL is immediate (SIGTERM takes an OSD seconds).
    p.kill('SIGKILL');
    await gone;
  };

  const failure = (what: string, name: string) =>
    new Error(`${what}\n--- ${name} output ---\n${(output.get(name) ?? '').slice(-3000)}\n--- ${name} log ---\n${tail(path.join(dir, 'log', `${name}.log`), 3000)}`);

  const ceph = (args: string[]) => run('ceph', ['--connect-timeout', String(Math.ceil(timeoutMs / 1000)), '-c', conf, ...args], { timeoutMs });
  const admin = (args: string[]) => run('radosgw-admin', ['-c', conf, ...args], { timeoutMs });

  let s3Port = 0;
  const waitForGateway = async () => {
    const p = daemons.get('rgw')!;
    const deadline = Date.now() + timeoutMs;
    while (!(await answers(s3Port))) {
      if (exited(p)) throw failure(`radosgw exited at start (code ${p.exitCode}, signal ${p.signalCode})`, 'rgw');
      if (Date.now() > deadline) throw failure(`radosgw did not answer on ${HOST}:${s3Port} within ${timeoutMs} ms`, 'rgw');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const launchGateway = async () => {
    launch('rgw', 'radosgw', ['-n', RGW_NAME, '--keyring', '/dev/null']);
    await waitForGateway();
  };

  const s3cmdConfigs = new Map<string, string>();
  const s3cmdConfig = (keys: S3Keys) => {
    let file = s3cmdConfigs.get(keys.accessKeyId);
    if (!file) {
      file = path.join(dir, 's3cmd', `${keys.accessKeyId}.cfg`);
      // host_bucket without %(bucket)s: path-style requests (http://host:port/bucket/key).
      const cfg = [
        '[default]',
        `access_key = ${keys.accessKeyId}`,
        `secret_key = ${keys.secretAccessKey}`,
        `host_base = ${HOST}:${s3Port}`,
        `host_bucket = ${HOST}:${s3Port}`,
        'bucket_location = us-east-1',
        'use_https = False',
        'signature_v2 = False',
        'check_ssl_certificate = False',
        'guess_mime_type = False',
        'progress_meter = False',
        '',
      ].join('\n');
      fs.writeFileSync(file, cfg, { mode: 0o600 });
      s3cmdConfigs.set(keys.accessKeyId, file);
    }
    return file;
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The gateway first, so that no request reaches a half-stopped cluster.
    for (const name of ['rgw', 'osd', 'mon']) await kill(name);
    fs.rmSync(dir, { recursive: true, force: true });
    watchdog.kill('SIGKILL');
  };

  try {
    const monPort = await freePort();
    s3Port = await freePort();
    fs.writeFileSync(conf, cephConf(dir, monPort, s3Port));

    await run('ceph-mon', ['-c', conf, '--id', 'a', '--mkfs', '--keyring', '/dev/null'], { timeoutMs });
    // auth none: the monitor still wants a keyring file in its data folder.
    fs.writeFileSync(path.join(dir, 'mon', 'keyring'), '');
    launch('mon', 'ceph-mon', ['--id', 'a']);

    // Registers OSD 0 in the map (waits for the monitor to answer). The OSD puts itself
    // in the CRUSH map when it starts (osd crush update on start), under root=default.
    const id = (await ceph(['osd', 'create'])).stdout.trim();
    if (id !== '0') throw new Error(`ceph osd create gave OSD id "${id}", expected 0`);
    await run('ceph-osd', ['-c', conf, '--id', id, '--mkfs'], { timeoutMs });
    launch('osd', 'ceph-osd', ['--id', id]);

    await launchGateway();
    const main = randomKeys();
    await admin(['user', 'create', '--uid', MAIN_UID, '--display-name', 'Webconf tests', `--access-key=${main.accessKeyId}`, `--secret-key=${main.secretAccessKey}`]);
    const startSeconds = (Date.now() - started) / 1000;

    const s3cmd: CephRgw['s3cmd'] = (args, o = {}) =>
      run('s3cmd', ['-c', s3cmdConfig(o.keys ?? main), ...args], { timeoutMs: o.timeoutMs ?? 60_000, env: childEnv({ HOME: dir }) });

    return {
      host: HOST,
      port: s3Port,
      endpoint: `http://${HOST}:${s3Port}`,
      region: 'us-east-1',
      dir,
      startSeconds,
      ...main,
      createUser: async (uid) => {
        const keys = randomKeys();
        await admin(['user', 'create', '--uid', uid, '--display-name', uid, `--access-key=${keys.accessKeyId}`, `--secret-key=${keys.secretAccessKey}`]);
        return keys;
      },
      createBucket: async (name, keys) => {
        await s3cmd(['mb', `s3://${name}`], { keys });
      },
      s3cmd,
      stopGateway: () => kill('rgw'),
      startGateway: async () => {
        if (daemons.has('rgw')) return;
        await launchGateway();
      },
      log: (daemon, chars = 4000) => tail(path.join(dir, 'log', `${daemon}.log`), chars),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
