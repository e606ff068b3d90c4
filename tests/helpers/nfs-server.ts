import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './console-server';

/**
 * A real NFS server for integration tests: Debian's nfs-ganesha (user space,
 * VFS FSAL) on 127.0.0.1, with its own config, log, pid file and NFSv4
 * recovery folder in a temp folder, so nothing under /etc, /var/lib or /run is
 * touched (except rpcbind, which ganesha must register with: see below).
 *
 * What it serves (the config is written by ganeshaConfig below):
 *  - NFSv3 (MOUNT on `mountPort`) and NFSv4.0, 4.1 and 4.2 on `port`, TCP only,
 *    AUTH_SYS, no NLM, no RQUOTA, no UDP, no NFSv4 grace period (Graceless), so
 *    a restarted server answers at once and a client only has to re-establish
 *    its client id / session.
 *  - The main export `pseudo` ('/export'): read-write, no root squash, over
 *    `exportDir` (a tmpfs of `sizeMiB` MiB when asked, to fill it up).
 *  - `readonly` ('/readonly'): Access_Type = RO, writes fail with NFS3ERR_ROFS /
 *    NFS4ERR_ROFS. Holds hello.txt.
 *  - `squashed` ('/squashed'): read-write export with All_Squash to 65534:65534
 *    over a folder owned by root with mode 0755, so creating a file there fails
 *    with a permission error (NFS3ERR_ACCES; NFS4ERR_ACCESS over v4) while reading works.
 *    Holds hello.txt (root, 0644).
 *  - MaxRead = MaxWrite = PrefRead = PrefWrite = 1 MiB on every export.
 *  - NFSv3 MOUNT paths are the pseudo paths (mount_path_pseudo), so NFSv3 and
 *    NFSv4 name an export the same way.
 *
 * Servers one after another in one process are fine. Several at once work for
 * clients that name the ports (url(), v3url() do, so no client asks rpcbind),
 * but they share the machine's one rpcbind: ganesha refuses to start without
 * it, each server replaces the previous one's NFS and MOUNT registrations and
 * removes them when it stops, so anything that looks ports up through rpcbind
 * (rpcinfo, a client without nfsport/mountport) sees at most one of them.
 * rpcbind is started when it is not running and is left running.
 *
 * Needs root (tmpfs mounts; ganesha's VFS backend opens files by handle).
 * Ganesha's stdout/stderr and its log file are kept (output(), log()) and shown
 * only in the error thrown when it fails to start. A process that ends without
 * stop() does not leave ganesha, the tmpfs or the temp folder behind: see the
 * watchdog below.
 */

export type NfsVersion = '4' | '4.1' | '4.2';

/** An export beyond the main one. */
export type NfsExportSpec = {
  /** Its NFSv4 pseudo path (and NFSv3 mount path), e.g. '/archive'. */
  pseudo: string;
  /** RW, or RO: every write is refused with ROFS. */
  access: 'RW' | 'RO';
  /** none: root stays root (No_Root_Squash). all: every user becomes 65534:65534 (All_Squash). */
  squash?: 'none' | 'all';
  /** The folder to export; default: a new empty folder in the server's temp folder. Never removed by stop(). */
  dir?: string;
};

export type NfsExport = {
  pseudo: string;
  /** The real folder on disk behind it. */
  dir: string;
  access: 'RW' | 'RO';
  squash: 'none' | 'all';
  /** nfs://127.0.0.1:PORT/<pseudo>/<path>?version=4.1 — the NFSv4 URL (the port is in the authority). */
  url(version: NfsVersion, filePath?: string): string;
  /** nfs://127.0.0.1/<pseudo>/<path>?nfsport=..&mountport=.. — the NFSv3 URL libnfs' nfs-ls / nfs-cp take. */
  v3url(filePath?: string): string;
};

export type NfsServerOptions = {
  /** Folder exported read-write at /export; default: a new folder in the temp folder. Never removed by stop(). */
  exportDir?: string;
  /** Mount a tmpfs of this many MiB over exportDir (unmounted by stop()), so tests can fill it. */
  sizeMiB?: number;
  /** More exports, after the main, readonly and squashed ones. Pseudo paths must be unique and not nested. */
  exports?: NfsExportSpec[];
  /** How long to wait for ganesha to answer; default 20 s. */
  timeoutMs?: number;
};

export type NfsServer = NfsExport & {
  host: '127.0.0.1';
  /** NFS port (NFSv3 and NFSv4). */
  port: number;
  /** MOUNT port (NFSv3 only). */
  mountPort: number;
  /** Same as dir: the folder behind the main export. */
  exportDir: string;
  readonly: NfsExport;
  squashed: NfsExport;
  /** Every export, the main one first. */
  exports: NfsExport[];
  /** The temp folder with ganesha.conf, ganesha.log, the pid file and the recovery folder. */
  stateDir: string;
  /** Ganesha's process id while it runs, else null. */
  pid(): number | null;
  /** Ganesha's log file so far, all starts since the last stop() (its messages go there, not to stdout). */
  log(): string;
  /** What ganesha printed on stdout/stderr so far (usually nothing). */
  output(): string;
  /**
   * Stop for good: SIGTERM (SIGKILL after 10 s), wait until the port is closed,
   * unmount the tmpfs, remove the temp folder. Safe to call twice and after kill().
   */
  stop(): Promise<void>;
  /** Send a signal (default SIGKILL) to ganesha and wait until it has exited and the port is closed. Files and data stay. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Start ganesha again on the same ports with the same exports. A running server
   * is stopped gracefully first. After kill() the data is kept (and file handles
   * stay valid); after stop() everything is set up anew, so the exports start empty.
   */
  restart(): Promise<void>;
};

const HOST = '127.0.0.1';
/** Size limits advertised on every export (bytes). */
export const NFS_MAX_IO = 1024 * 1024;
const LOG_TAIL_CHARS = 6000;
const OUTPUT_CAP_CHARS = 64 * 1024;

function which(names: string[]): string | null {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const n of names) for (const d of dirs) if (d && fs.existsSync(path.join(d, n))) return path.join(d, n);
  return null;
}

function binaries(): { ganesha: string; rpcbind: string } {
  const ganesha = which(['ganesha.nfsd']);
  const rpcbind = which(['rpcbind']);
  const fsal = ['/usr/lib/x86_64-linux-gnu/ganesha', '/usr/lib/aarch64-linux-gnu/ganesha', '/usr/lib64/ganesha', '/usr/lib/ganesha'].some((d) =>
    fs.existsSync(path.join(d, 'libfsalvfs.so')),
  );
  if (!ganesha || !rpcbind || !fsal) {
    throw new Error(
      'NFS test server needs the Debian packages nfs-ganesha, nfs-ganesha-vfs and rpcbind (missing: ' +
        [!ganesha && 'ganesha.nfsd', !fsal && 'libfsalvfs.so', !rpcbind && 'rpcbind'].filter(Boolean).join(', ') +
        '); run scripts/install-test-deps.sh',
    );
  }
  return { ganesha, rpcbind };
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    const done = (open: boolean) => {
      s.destroy();
      resolve(open);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function until(what: string, ms: number, test: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await test()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** rpcbind must run before ganesha starts (ganesha exits when it cannot register). */
async function ensureRpcbind(rpcbind: string): Promise<void> {
  if (await portOpen(111)) return;
  // -w: warm start (keeps registrations across its restarts). It daemonizes; a second
  // one exits 1 with "another rpcbind is already running", which is fine too.
  try {
    execFileSync(rpcbind, ['-w'], { stdio: 'pipe' });
  } catch {
    /* judged by the port below */
  }
  await until('rpcbind on port 111', 10_000, () => portOpen(111));
}

/**
 * Unmounts the topmost mount on dir (ours), retrying while it is busy, and
 * lazily (-l: detached now, freed when no longer used) as the last resort.
 */
async function unmount(dir: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      return;
    } catch (e) {
      if (Date.now() > end) {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Ganesha's config syntax: blocks `NAME { key = value; ... }`, lists comma
 * separated, strings in double quotes (paths are quoted so any temp path works).
 */
function ganeshaConfig(p: { port: number; mountPort: number; recoveryRoot: string; exports: NfsExport[] }): string {
  const q = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const exportBlocks = p.exports.map(
    (e, i) => `EXPORT {
  Export_Id = ${i + 1};
  Path = ${q(e.dir)};
  Pseudo = ${q(e.pseudo)};
  Access_Type = ${e.access};
  Squash = ${e.squash === 'all' ? 'All_Squash' : 'No_Root_Squash'};
  Anonymous_Uid = 65534;
  Anonymous_Gid = 65534;
  Protocols = 3, 4;
  Transports = TCP;
  SecType = sys;
  MaxRead = ${NFS_MAX_IO};
  MaxWrite = ${NFS_MAX_IO};
  PrefRead = ${NFS_MAX_IO};
  PrefWrite = ${NFS_MAX_IO};
  FSAL { Name = VFS; }
}
`,
  );
  return `# Written by tests/helpers/nfs-server.ts for one test server.
NFS_CORE_PARAM {
  Protocols = 3, 4;
  NFS_Port = ${p.port};
  MNT_Port = ${p.mountPort};
  Bind_addr = ${HOST};
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
  Clustered = false;
  mount_path_pseudo = true;
  # Headroom over the 1 MiB default: a 1 MiB WRITE's RPC record is 1 MiB plus its headers
  # (ganesha 4.3 took such records with the default too; bigger READ/WRITEs are cut to MaxRead/MaxWrite).
  MaxRPCSendBufferSize = ${2 * NFS_MAX_IO};
  MaxRPCRecvBufferSize = ${2 * NFS_MAX_IO};
}
NFS_KRB5 {
  Active_krb5 = false;
}
NFSV4 {
  Graceless = true;
  Minor_Versions = 0, 1, 2;
  RecoveryBackend = fs;
  RecoveryRoot = ${q(p.recoveryRoot)};
}
${exportBlocks.join('')}`;
}

/**
 * The watchdog: a shell, child of this process, that reads lines from a pipe
 * whose other end only this process holds. Each line is ganesha's current pid,
 * or "-" once it has exited. At EOF (this process died or exited without
 * stop(): the kernel closes the pipe) it SIGKILLs the last pid, lazily
 * unmounts the tmpfs ($2, may be empty) and removes the temp folder ($1).
 * stop() SIGKILLs the watchdog once it has cleaned up itself.
 */
const WATCHDOG_SCRIPT = `g=-
while read -r line; do g=$line; done
[ "$g" != - ] && kill -9 "$g" 2>/dev/null
[ -n "$2" ] && umount -l "$2" 2>/dev/null
rm -rf -- "$1"`;

function startWatchdog(stateDir: string, tmpfsDir: string | null): ChildProcess {
  const w = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'nfs-server-watchdog', stateDir, tmpfsDir ?? ''], { stdio: ['pipe', 'ignore', 'ignore'] });
  // Neither the watchdog nor its pipe may keep this process alive.
  w.unref();
  (w.stdin as unknown as { unref(): void }).unref();
  w.stdin!.on('error', () => undefined);
  return w;
}

function makeExport(spec: Required<NfsExportSpec>, port: number, mountPort: number): NfsExport {
  const join = (filePath?: string) => {
    const rest = (filePath ?? '').replace(/^\/+/, '');
    const p = rest ? `${spec.pseudo.replace(/\/+$/, '')}/${rest}` : spec.pseudo;
    return p.split('/').map(encodeURIComponent).join('/');
  };
  return {
    pseudo: spec.pseudo,
    dir: spec.dir,
    access: spec.access,
    squash: spec.squash,
    url: (version, filePath) => `nfs://${HOST}:${port}${join(filePath)}?version=${version}`,
    v3url: (filePath) => `nfs://${HOST}${join(filePath)}?nfsport=${port}&mountport=${mountPort}`,
  };
}

export async function startNfsServer(opts: NfsServerOptions = {}): Promise<NfsServer> {
  // Root: ganesha's VFS backend opens files by handle (CAP_DAC_READ_SEARCH), and tmpfs needs mount.
  if (process.getuid?.() !== 0) throw new Error('NFS test server needs root');
  const bins = binaries();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const port = await freePort();
  let mountPort = await freePort();
  while (mountPort === port) mountPort = await freePort();

  const extra = opts.exports ?? [];
  // Ganesha builds one pseudo filesystem from all exports: no export may sit inside another's pseudo path.
  const pseudos = ['/export', '/readonly', '/squashed', ...extra.map((e) => e.pseudo)];
  for (const [i, p] of pseudos.entries()) {
    if (!/^(\/[^/]+)+$/.test(p)) throw new Error(`bad pseudo path ${JSON.stringify(p)} (want /name or /a/b, no trailing slash)`);
    if (pseudos.some((o, j) => j !== i && (o + '/').startsWith(p + '/'))) throw new Error(`pseudo paths nest or repeat: ${pseudos.join(', ')}`);
  }

  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-ganesha-'));
  const confFile = path.join(stateDir, 'ganesha.conf');
  const logFile = path.join(stateDir, 'ganesha.log');
  const pidFile = path.join(stateDir, 'ganesha.pid');
  const recoveryRoot = path.join(stateDir, 'recovery');
  const ownDir = (name: string) => path.join(stateDir, 'exports', name);

  const specs: Required<NfsExportSpec>[] = [
    { pseudo: '/export', access: 'RW', squash: 'none', dir: opts.exportDir ?? ownDir('export') },
    { pseudo: '/readonly', access: 'RO', squash: 'none', dir: ownDir('readonly') },
    { pseudo: '/squashed', access: 'RW', squash: 'all', dir: ownDir('squashed') },
    ...extra.map((e, i) => ({ ...e, squash: e.squash ?? 'none', dir: e.dir ?? ownDir(`extra-${i + 1}`) })),
  ];
  const exports = specs.map((s) => makeExport(s, port, mountPort));
  const main = exports[0]!;
  const tmpfsDir = opts.sizeMiB ? main.dir : null;

  let proc: ChildProcess | null = null;
  let out = '';
  let torndown = false;
  /** The tmpfs this server mounted and has not unmounted yet. */
  let ownMount: string | null = null;
  let watchdog: ChildProcess | null = null;
  const tellWatchdog = (line: string) => watchdog?.stdin?.write(line + '\n');

  /** Folders, tmpfs and config; again after stop(). */
  function setUp() {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.mkdirSync(recoveryRoot, { recursive: true });
    for (const s of specs) fs.mkdirSync(s.dir, { recursive: true });
    if (tmpfsDir && !ownMount) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.sizeMiB}m,mode=0755`, 'tmpfs', tmpfsDir], { stdio: 'pipe' });
      ownMount = tmpfsDir;
    }
    watchdog ??= startWatchdog(stateDir, ownMount);
    const [, ro, sq] = specs;
    fs.writeFileSync(path.join(ro!.dir, 'hello.txt'), 'read-only export\n');
    // Root-owned and not writable by others: the squashed user (65534) may read, not create.
    fs.chownSync(sq!.dir, 0, 0);
    fs.chmodSync(sq!.dir, 0o755);
    fs.writeFileSync(path.join(sq!.dir, 'hello.txt'), 'squashed export\n', { mode: 0o644 });
    fs.writeFileSync(confFile, ganeshaConfig({ port, mountPort, recoveryRoot, exports }));
    torndown = false;
  }

  /** The log from byte `from` on (ganesha appends to it across restarts). */
  const readLog = (from = 0) => {
    try {
      return fs.readFileSync(logFile).subarray(from).toString('utf8');
    } catch {
      return '';
    }
  };
  const failure = (why: string) => {
    const log = readLog();
    return new Error(
      `NFS server (ganesha) ${why}.\n--- ${logFile} (tail) ---\n${log.slice(-LOG_TAIL_CHARS)}` + (out ? `\n--- stdout/stderr ---\n${out.slice(-LOG_TAIL_CHARS)}` : ''),
    );
  };

  async function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
    if (p.exitCode !== null || p.signalCode !== null) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      p.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Ends the process (signal, then SIGKILL if it lingers) and waits until both ports are closed. */
  async function endProcess(signal: NodeJS.Signals) {
    const p = proc;
    if (p) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill(signal);
        if (!(await waitExit(p, 10_000))) {
          p.kill('SIGKILL');
          await waitExit(p, 10_000);
        }
      }
      tellWatchdog('-');
      proc = null;
    }
    await until(`ports ${port} and ${mountPort} to close`, 10_000, async () => !(await portOpen(port)) && !(await portOpen(mountPort)));
  }

  async function launch() {
    if (await portOpen(port)) throw new Error(`port ${port} is already taken`);
    await ensureRpcbind(bins.rpcbind);
    const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    // -F: stay in the foreground, so this child is ganesha itself (it daemonizes otherwise).
    const p = spawn(bins.ganesha, ['-F', '-f', confFile, '-L', logFile, '-p', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    if (p.pid) tellWatchdog(String(p.pid));
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-OUTPUT_CAP_CHARS);
    };
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    try {
      // Ready = the log says so (exports loaded, threads started) and both ports accept connections.
      await until('ganesha to be ready', timeoutMs, async () => {
        if (p.exitCode !== null || p.signalCode !== null) throw failure(`exited (${p.exitCode ?? p.signalCode}) before it was ready`);
        return readLog(logStart).includes('NFS SERVER INITIALIZED') && (await portOpen(port)) && (await portOpen(mountPort));
      });
      // Ganesha starts even when an EXPORT block fails (e.g. a folder it cannot export);
      // it only logs ":CONFIG :CRIT :" lines. A test must not run against a partial server.
      if (/ :CONFIG :(CRIT|MAJ|FATAL) :/.test(readLog(logStart))) throw failure('started with configuration errors');
    } catch (e) {
      await endProcess('SIGKILL').catch(() => undefined);
      throw e instanceof Error && e.message.startsWith('NFS server') ? e : failure(`was not ready within ${timeoutMs} ms`);
    }
  }

  async function tearDown() {
    // Each step runs even when an earlier one failed; the first error is thrown at the end.
    const errors: unknown[] = [];
    await endProcess('SIGTERM').catch((e) => errors.push(e));
    if (ownMount) {
      const m = ownMount;
      await unmount(m).then(
        () => (ownMount = null),
        (e) => errors.push(e),
      );
    }
    if (!errors.length) {
      fs.rmSync(stateDir, { recursive: true, force: true });
      watchdog?.kill('SIGKILL');
      watchdog = null;
    }
    torndown = true;
    if (errors.length) throw errors[0];
  }

  try {
    setUp();
    await launch();
  } catch (e) {
    await tearDown().catch(() => undefined);
    throw e;
  }

  return {
    ...main,
    host: HOST,
    port,
    mountPort,
    exportDir: main.dir,
    readonly: exports[1]!,
    squashed: exports[2]!,
    exports,
    stateDir,
    pid: () => (proc && proc.exitCode === null && proc.signalCode === null ? (proc.pid ?? null) : null),
    log: () => readLog(),
    output: () => out,
    stop: tearDown,
    kill: (signal = 'SIGKILL') => endProcess(signal),
    async restart() {
      if (torndown) setUp();
      else await endProcess('SIGTERM');
      await launch();
    },
  };
}
