import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './console-server';

/**
 * A real SSH server for integration tests: Debian's OpenSSH sshd
 * (`/usr/sbin/sshd -D -e -f CONFIG`) on 127.0.0.1 and a free port, with its
 * own config, host keys (made with ssh-keygen), pid file and authorized_keys
 * in a temp folder; nothing under /etc/ssh is read or changed.
 *
 * It lets in one user, TEST_USER, created with useradd when missing (a normal
 * account with a home folder and /bin/sh), by password (set afresh with
 * chpasswd on each start, random) or by one of the client keys made here
 * (their public halves are in the temp authorized_keys). SFTP is sshd's
 * internal-sftp; SCP runs /usr/bin/scp through the user's shell, as on any host.
 * MaxStartups and MaxAuthTries are raised so that tests connecting in quick
 * succession (and failing to log in on purpose) are never throttled.
 *
 * The user is a real account of this machine: its password is locked again
 * (usermod -L) when the last server of this process stops, and by the
 * watchdog if the process dies first. Needs root (sshd's privilege separation,
 * reading /etc/shadow for password logins, useradd).
 */

export const TEST_USER = 'webconf-ssh';

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export type SshServerOptions = {
  /** Host keys the server has; default all three. The client (ssh2) is offered ed25519 first. */
  hostKeyTypes?: HostKeyType[];
  /** How long to wait for sshd to accept; default 15 s. */
  timeoutMs?: number;
};

export type SshServer = {
  host: '127.0.0.1';
  port: number;
  user: string;
  /** The user's password, valid while the server runs. */
  password: string;
  /** The user's home folder (for paths relative to it). */
  home: string;
  /** A folder the user can read (0755), for the files the tests fetch; removed by stop(). */
  filesDir: string;
  /** Client keys whose public halves are authorized. */
  keys: {
    /** OpenSSH format, no passphrase. */
    ed25519: string;
    /** Traditional PEM ("BEGIN EC PRIVATE KEY", Proc-Type ENCRYPTED), with `passphrase`. */
    ecdsaPem: string;
    ecdsaPemPassphrase: string;
    /** A key that is NOT authorized (OpenSSH format). */
    stranger: string;
  };
  /** The host's public key file for a type (ssh_host_<type>_key.pub). */
  hostPublicKeyFile(type: HostKeyType): string;
  /** What `ssh-keygen -lf` prints as the fingerprint of that public key file: "SHA256:…". */
  hostKeyFingerprint(type: HostKeyType): string;
  /** Everything sshd printed so far (-e: its log goes to stderr). */
  output(): string;
  /** New host keys, sshd restarted on the same port: the host's key "changed". */
  replaceHostKeys(): Promise<void>;
  /** Stop sshd, remove the temp folder; the password is locked when no other server of this process runs. Safe to call twice. */
  stop(): Promise<void>;
};

const HOST = '127.0.0.1';
const SSHD = '/usr/sbin/sshd';
let running = 0;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

function requirements(): void {
  if (process.getuid?.() !== 0) throw new Error('SSH test server needs root');
  const missing = [SSHD, '/usr/bin/ssh-keygen', '/usr/bin/scp'].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new Error(`SSH test server needs the Debian packages openssh-server and openssh-client (missing: ${missing.join(', ')}); run scripts/install-test-deps.sh`);
  }
}

/** The test user exists (created once), with a fresh random password that unlocks it. */
function prepareUser(): { password: string; home: string } {
  try {
    sh('id', ['-u', TEST_USER]);
  } catch {
    sh('useradd', ['--create-home', '--shell', '/bin/sh', '--comment', 'Webconf SSH tests', TEST_USER]);
  }
  const password = `pw-${crypto.randomBytes(12).toString('base64url')}`;
  sh('chpasswd', [], `${TEST_USER}:${password}\n`);
  const home = sh('getent', ['passwd', TEST_USER]).split(':')[5]!;
  return { password, home };
}

function lockUser(): void {
  try {
    sh('usermod', ['--lock', TEST_USER]);
  } catch {
    // Nothing to lock.
  }
}

function keygen(file: string, type: string, extra: string[] = [], passphrase = ''): string {
  sh('ssh-keygen', ['-q', '-t', type, ...extra, '-N', passphrase, '-C', `webconf-test-${type}`, '-f', file]);
  return fs.readFileSync(file, 'utf8');
}

/** OpenSSH ≥ 9.8 penalizes addresses with failed logins (PerSourcePenalties); older ones do not know the keyword. */
function hasPerSourcePenalties(): boolean {
  let version = '';
  try {
    execFileSync(SSHD, ['-V'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    version = String((err as { stderr?: Buffer }).stderr ?? '');
  }
  // sshd -V prints "OpenSSH_9.2p1 …" on stderr (and exits 1 on older versions).
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 9 || (major === 9 && minor >= 8);
}

function sshdConfig(dir: string, port: number, hostKeys: string[]): string {
  return [
    `ListenAddress ${HOST}:${port}`,
    ...hostKeys.map((k) => `HostKey ${k}`),
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    // Passwords are checked against /etc/shadow by sshd itself: no PAM stack to depend on.
    'UsePAM no',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PermitRootLogin no',
    `AllowUsers ${TEST_USER}`,
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'MaxAuthTries 20',
    'LoginGraceTime 30',
    'UseDNS no',
    'PrintMotd no',
    'PermitTTY no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    ...(hasPerSourcePenalties() ? ['PerSourcePenalties no'] : []),
    '',
  ].join('\n');
}

/** Resolves once sshd sends its "SSH-2.0-" banner on the port. */
function banner(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    let got = '';
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.startsWith('SSH-2.0-')) done(true);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

/**
 * The watchdog: a shell, child of this process, reading sshd's pid from a pipe
 * only this process holds. At EOF (this process ended without stop()) it kills
 * sshd, locks the test user's password and removes the temp folder.
 */
const WATCHDOG_SCRIPT = `p=-
while read -r line; do p=$line; done
[ "$p" != - ] && kill -9 "$p" 2>/dev/null
[ -n "$2" ] && usermod --lock "$2" 2>/dev/null
rm -rf -- "$1"`;

export async function startSshServer(opts: SshServerOptions = {}): Promise<SshServer> {
  requirements();
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const types = opts.hostKeyTypes ?? ['ed25519', 'ecdsa', 'rsa'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-sshd-'));
  // The user reads authorized_keys and the files folder through this folder.
  fs.chmodSync(dir, 0o755);
  const filesDir = path.join(dir, 'files');
  fs.mkdirSync(filesDir, { mode: 0o755 });
  fs.chmodSync(filesDir, 0o755);
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'sshd-watchdog', dir, TEST_USER], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  watchdog.stdin!.on('error', () => undefined);

  let proc: ChildProcess | null = null;
  let out = '';
  let stopped = false;
  running++;
  try {
    const { password, home } = prepareUser();
    const keysDir = path.join(dir, 'client-keys');
    fs.mkdirSync(keysDir, { mode: 0o700 });
    const ecdsaPemPassphrase = 'correct horse battery';
    const keys = {
      ed25519: keygen(path.join(keysDir, 'id_ed25519'), 'ed25519'),
      ecdsaPem: keygen(path.join(keysDir, 'id_ecdsa_pem'), 'ecdsa', ['-m', 'PEM'], ecdsaPemPassphrase),
      ecdsaPemPassphrase,
      stranger: keygen(path.join(keysDir, 'id_stranger'), 'ed25519'),
    };
    const authorized = ['id_ed25519', 'id_ecdsa_pem'].map((k) => fs.readFileSync(path.join(keysDir, `${k}.pub`), 'utf8')).join('');
    fs.writeFileSync(path.join(dir, 'authorized_keys'), authorized, { mode: 0o644 });

    const hostKeysDir = path.join(dir, 'host-keys');
    fs.mkdirSync(hostKeysDir, { mode: 0o700 });
    const hostKeyFile = (t: HostKeyType) => path.join(hostKeysDir, `ssh_host_${t}_key`);
    const makeHostKeys = () => {
      for (const t of types) {
        fs.rmSync(hostKeyFile(t), { force: true });
        fs.rmSync(`${hostKeyFile(t)}.pub`, { force: true });
        keygen(hostKeyFile(t), t, t === 'rsa' ? ['-b', '3072'] : []);
      }
    };
    makeHostKeys();

    const port = await freePort();
    const configFile = path.join(dir, 'sshd_config');
    fs.writeFileSync(configFile, sshdConfig(dir, port, types.map(hostKeyFile)), { mode: 0o600 });

    const exited = () => proc === null || proc.exitCode !== null || proc.signalCode !== null;

    const launch = async () => {
      const p = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      watchdog.stdin!.write(`${p.pid}\n`);
      const deadline = Date.now() + timeoutMs;
      while (!(await banner(port))) {
        if (exited()) throw new Error(`sshd exited at start (code ${p.exitCode}, signal ${p.signalCode}):\n${out.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`sshd did not accept on ${HOST}:${port} within ${timeoutMs} ms:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const halt = async () => {
      const p = proc;
      if (!p || exited()) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
      watchdog.stdin!.write('-\n');
    };

    await launch();

    const server: SshServer = {
      host: HOST,
      port,
      user: TEST_USER,
      password,
      home,
      filesDir,
      keys,
      hostPublicKeyFile: (t) => `${hostKeyFile(t)}.pub`,
      hostKeyFingerprint: (t) => {
        // "256 SHA256:… comment (ED25519)"
        const line = sh('ssh-keygen', ['-lf', `${hostKeyFile(t)}.pub`]);
        const fp = line.split(' ')[1];
        if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${line}`);
        return fp;
      },
      output: () => out,
      replaceHostKeys: async () => {
        await halt();
        makeHostKeys();
        await launch();
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await halt();
        fs.rmSync(dir, { recursive: true, force: true });
        if (--running === 0) lockUser();
        watchdog.kill('SIGKILL');
      },
    };
    return server;
  } catch (err) {
    stopped = true;
    const p = proc as ChildProcess | null;
    if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    if (--running === 0) lockUser();
    watchdog.kill('SIGKILL');
    throw err;
  }
}
