import crypto from 'node:crypto';
import net from 'node:net';
import { Server, utils, type AuthContext, type Connection, type ServerChannel } from 'ssh2';
import type { DeviceConnectionInput, DeviceModelInput } from '@/lib/devices/schemas';
import { fingerprintOf } from '@/lib/ssh/host-key';

/**
 * Simulated managed devices for tests: ssh2 Servers in the test process, one
 * per device, each on its own 127.0.0.1 port with its own ed25519 host key
 * (so pinning, probing and a changed key behave as with real devices). Each
 * listens through a net.Server of its own that hands sockets to ssh2
 * (Server.injectSocket), so a device can also misbehave at the TCP level
 * (reset a connection, drop it in the middle of the output).
 *
 * A device answers its model's commands over exec channels:
 *   opnsense  `cat /conf/config.xml` (an XML config.xml) and `opnsense-version`
 *   cisco     `show running-config` (Building configuration… / Current configuration : N bytes … end, CR LF)
 *   generic   the one command it is given, with the content it is given
 * and anything else as a shell or CLI would ("sh: x: not found", exit 127 /
 * "% Invalid input detected at '^' marker.").
 *
 * Behaviours: see Behaviour. The fleet counts, server-side, the sessions
 * logged in at once (from the accepted login to the connection's close) and
 * the peak of that count, so tests can check a pool's concurrency bound.
 */

export type DeviceKind = 'opnsense' | 'cisco' | 'generic';

export type Behaviour =
  /** Answers as it should. */
  | 'good'
  /** Rejects every password (and key). */
  | 'refuse-password'
  /** Logs in, accepts the command, then never writes nor closes (keepalives are still answered, as by a hung CLI). */
  | 'hang-after-login'
  /** Logs in, then stops reading its socket when the command comes: keepalives go unanswered, as with a device that froze. */
  | 'freeze-after-login'
  /** Writes about half the configuration, then drops the TCP connection. */
  | 'close-mid-output'
  /** Exit status 0, no output at all. */
  | 'empty'
  /** Exit status 0 and an error message on stdout instead of the configuration. */
  | 'error-text'
  /** OPNsense: every export has secrets re-encrypted with a fresh salt and a fresh <revision><time>. */
  | 'churn-secrets'
  /** Writes the configuration in small chunks with pauses (see slow). */
  | 'slow'
  /** The export command fails: a message on stderr, exit status 1. */
  | 'fail-command'
  /** Resets (TCP RST) the first `resetFirst` connections, then behaves as good. */
  | 'reset-first'
  /** Closes the channel without an exit status (as some network CLIs do). */
  | 'no-exit-status';

export type SimulatedDeviceSpec = {
  kind: DeviceKind;
  behaviour?: Behaviour;
  /** Size of the configuration served, roughly (opnsense, cisco); default 16 KiB. */
  configBytes?: number;
  /** generic: the command it answers, and what it prints. */
  command?: string;
  content?: Buffer;
  /** slow: chunk size and pause; default 4 KiB every 20 ms. */
  slow?: { chunkBytes: number; delayMs: number };
  /** reset-first: how many connections are reset; default 2. */
  resetFirst?: number;
  /** An authorized client public key (OpenSSH format), besides the password. */
  authorizedKey?: string;
};

export type DeviceStats = {
  /** TCP connections accepted (reset ones included). */
  connections: number;
  /** Logins accepted. */
  logins: number;
  /** Login attempts refused. */
  refusedLogins: number;
  /** Commands run, in order. */
  commands: string[];
  /** Sessions logged in right now. */
  active: number;
};

export type SimulatedDevice = {
  name: string;
  kind: DeviceKind;
  behaviour: Behaviour;
  host: '127.0.0.1';
  port: number;
  username: string;
  password: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  keyType: 'ssh-ed25519';
  stats: DeviceStats;
  /** The configuration the device served at each export, in order. */
  served: Buffer[];
  /** The plain-object settings lib/devices takes, with this device's host key pinned. */
  connection(extra?: Partial<DeviceConnectionInput>): DeviceConnectionInput;
  /** The model settings lib/devices takes for this device. */
  model(): DeviceModelInput;
  /** A new host key on the same port: the device's key "changed". */
  rotateHostKey(): void;
  close(): Promise<void>;
};

export type SimulatedFleet = {
  devices: SimulatedDevice[];
  /** Sessions logged in right now, over all devices. */
  active(): number;
  /** The most sessions logged in at once since the start (or resetPeak). */
  peak(): number;
  resetPeak(): void;
  close(): Promise<void>;
};

export const OPNSENSE_VERSION = 'OPNsense 24.7.5 (amd64)';
export const CISCO_VERSION = '15.2';

type Counter = { active: number; peak: number };

let seq = 0;

export async function startDevices(specs: readonly SimulatedDeviceSpec[]): Promise<SimulatedFleet> {
  const counter: Counter = { active: 0, peak: 0 };
  const devices: SimulatedDevice[] = [];
  try {
    for (const spec of specs) devices.push(await startOne(spec, counter));
  } catch (err) {
    await Promise.all(devices.map((d) => d.close()));
    throw err;
  }
  return {
    devices,
    active: () => counter.active,
    peak: () => counter.peak,
    resetPeak: () => {
      counter.peak = counter.active;
    },
    close: async () => {
      await Promise.all(devices.map((d) => d.close()));
    },
  };
}

/**
 * A fresh ed25519 host key. ssh2 1.17's generateKeyPairSync writes a
 * malformed key (a 31-byte public half) when the public key starts with a
 * zero byte, about once in 300; such a pair is drawn again.
 */
function newHostKey(): { private: string; fingerprint: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (pub instanceof Error || priv instanceof Error) continue;
    const blob = (Array.isArray(pub) ? pub[0]! : pub).getPublicSSH();
    if (!blob.equals((Array.isArray(priv) ? priv[0]! : priv).getPublicSSH())) continue;
    return { private: pair.private, fingerprint: fingerprintOf(blob) };
  }
}

async function startOne(spec: SimulatedDeviceSpec, counter: Counter): Promise<SimulatedDevice> {
  const n = ++seq;
  const behaviour = spec.behaviour ?? 'good';
  const name = `${spec.kind}-${behaviour}-${n}`;
  const username = 'backup';
  const password = `pw-${crypto.randomBytes(9).toString('base64url')}`;
  const configBytes = spec.configBytes ?? 16 * 1024;
  let hostKey = newHostKey();
  const stats: DeviceStats = { connections: 0, logins: 0, refusedLogins: 0, commands: [], active: 0 };
  const served: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const base = spec.kind === 'opnsense' ? opnsenseBody(name, configBytes) : spec.kind === 'cisco' ? ciscoBody(name, configBytes) : null;
  const authorized = spec.authorizedKey ? parsePublic(spec.authorizedKey) : null;

  const makeSsh = () =>
    new Server({ hostKeys: [hostKey.private] }, (conn: Connection, info) => {
      const sock = [...sockets].find((s) => s.remotePort === info.port) ?? null;
      let counted = false;
      conn.on('error', () => undefined);
      conn.on('authentication', (ctx: AuthContext) => authenticate(ctx));
      conn.on('ready', () => {
        stats.logins++;
        counted = true;
        stats.active++;
        counter.active++;
        counter.peak = Math.max(counter.peak, counter.active);
        conn.on('session', (accept) => {
          const session = accept();
          session.on('exec', (acceptExec, _reject, { command }) => {
            stats.commands.push(command);
            const ch = acceptExec();
            answer(command, ch, sock, conn).catch(() => ch.destroy());
          });
        });
      });
      conn.on('close', () => {
        if (counted) {
          counter.active--;
          stats.active--;
        }
        counted = false;
      });
    });

  const authenticate = (ctx: AuthContext) => {
    if (behaviour === 'refuse-password' || ctx.username !== username) {
      stats.refusedLogins++;
      return ctx.reject(['password', 'publickey']);
    }
    if (ctx.method === 'password' && ctx.password === password) return ctx.accept();
    if (ctx.method === 'publickey' && authorized && ctx.key.algo === authorized.type && ctx.key.data.equals(authorized.getPublicSSH())) {
      // Without a signature this is the client asking whether the key would do.
      if (!ctx.signature) return ctx.accept();
      if (authorized.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
    }
    if (ctx.method !== 'none') stats.refusedLogins++;
    return ctx.reject(['password', 'publickey']);
  };

  const answer = async (command: string, ch: ServerChannel, sock: net.Socket | null, conn: Connection) => {
    const exportCommand = spec.kind === 'opnsense' ? 'cat /conf/config.xml' : spec.kind === 'cisco' ? 'show running-config' : spec.command;
    if (spec.kind === 'opnsense' && command === 'opnsense-version') return finish(ch, Buffer.from(`${OPNSENSE_VERSION}\n`), 0);
    if (command !== exportCommand) {
      if (spec.kind === 'cisco') return finish(ch, Buffer.from(`${command}\r\n        ^\r\n% Invalid input detected at '^' marker.\r\n\r\n`), 0, undefined, false);
      return finish(ch, Buffer.alloc(0), 127, `sh: ${command.split(' ')[0]}: not found\n`);
    }
    switch (behaviour) {
      case 'hang-after-login':
        return; // Never answers; the client's command time limit or the pool's watchdog must end it.
      case 'freeze-after-login':
        // Frozen for 3 s, then it reads again (and finds the connection closed by then).
        sock?.pause();
        setTimeout(() => sock?.resume(), 3000);
        return;
      case 'empty':
        return finish(ch, Buffer.alloc(0), 0);
      case 'error-text':
        return spec.kind === 'cisco'
          ? finish(ch, Buffer.from(`% Authorization failed.\r\n`), 0, undefined, false)
          : finish(ch, Buffer.from('cat: /conf/config.xml: Permission denied\n'), 0);
      case 'fail-command':
        return finish(ch, Buffer.alloc(0), 1, `${exportCommand}: cannot open the configuration\nNo such file or directory\n`);
    }
    const config = configFor();
    served.push(config);
    if (behaviour === 'close-mid-output') {
      await write(ch, config.subarray(0, Math.floor(config.length / 2)));
      // Let the half reach the client, then drop the connection without a word.
      setTimeout(() => (sock ? sock.destroy() : conn.end()), 20);
      return;
    }
    if (behaviour === 'slow') {
      const { chunkBytes, delayMs } = spec.slow ?? { chunkBytes: 4096, delayMs: 20 };
      for (let off = 0; off < config.length; off += chunkBytes) {
        if (ch.destroyed) return;
        await write(ch, config.subarray(off, off + chunkBytes));
        await new Promise((r) => setTimeout(r, delayMs));
      }
      return finish(ch, Buffer.alloc(0), 0);
    }
    const sendExit = !(behaviour === 'no-exit-status');
    return finish(ch, config, 0, undefined, sendExit);
  };

  const configFor = (): Buffer => {
    if (spec.kind === 'generic') return spec.content ?? Buffer.from(`# ${name}\nhostname ${name}\n`);
    if (spec.kind === 'opnsense') {
      const churn = behaviour === 'churn-secrets';
      return Buffer.from(base!.replace(/@@SECRET(\d+)@@/g, (_, i: string) => saltedSecret(`${name}-secret-${i}`, churn)).replace('@@TIME@@', churn ? revisionTime() : '1718000000.1234'));
    }
    // Cisco: the clock-period line changes on every export, as the device's drift correction does.
    const text = base!.replace('@@CLOCK@@', String(17179000 + crypto.randomInt(1000)));
    const withCount = text.replace('@@BYTES@@', String(Buffer.byteLength(text)));
    return Buffer.from(withCount.replace(/\n/g, '\r\n'), 'latin1');
  };

  const tcp = net.createServer((socket) => {
    stats.connections++;
    socket.on('error', () => undefined);
    if (behaviour === 'reset-first' && stats.connections <= (spec.resetFirst ?? 2)) {
      socket.resetAndDestroy();
      return;
    }
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    ssh.injectSocket(socket);
  });
  let ssh = makeSsh();
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (tcp.address() as net.AddressInfo).port;

  const device: SimulatedDevice = {
    name,
    kind: spec.kind,
    behaviour,
    host: '127.0.0.1',
    port,
    username,
    password,
    get fingerprint() {
      return hostKey.fingerprint;
    },
    keyType: 'ssh-ed25519',
    stats,
    served,
    connection: (extra = {}) => ({ host: '127.0.0.1', port, username, password, hostKeyFingerprint: hostKey.fingerprint, ...extra }),
    model: () => (spec.kind === 'opnsense' ? { model: 'opnsense' } : spec.kind === 'cisco' ? { model: 'cisco-ios' } : { model: 'generic', command: spec.command ?? '' }),
    rotateHostKey: () => {
      hostKey = newHostKey();
      ssh = makeSsh();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
  return device;
}

function parsePublic(line: string) {
  const parsed = utils.parseKey(line);
  if (parsed instanceof Error) throw parsed;
  return Array.isArray(parsed) ? parsed[0]! : parsed;
}

/** Writes, waiting for the channel to drain when its window is full. */
function write(ch: ServerChannel, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (data.length === 0 || ch.destroyed) return resolve();
    if (ch.write(data)) resolve();
    else ch.once('drain', () => resolve());
  });
}

async function finish(ch: ServerChannel, stdout: Buffer, code: number, stderr?: string, sendExit = true): Promise<void> {
  await write(ch, stdout);
  if (stderr) ch.stderr.write(stderr);
  if (sendExit) ch.exit(code);
  ch.end();
}

/** OpenSSL's salted format in base64: "Salted__", 8 random bytes of salt, then the ciphertext (here a stand-in derived from the secret). */
function saltedSecret(secret: string, fresh: boolean): string {
  const salt = fresh ? crypto.randomBytes(8) : crypto.createHash('sha256').update(`salt:${secret}`).digest().subarray(0, 8);
  const body = crypto.createHash('sha256').update(Buffer.concat([salt, Buffer.from(secret)])).digest();
  return Buffer.concat([Buffer.from('Salted__'), salt, body]).toString('base64');
}

function revisionTime(): string {
  return `${Math.floor(Date.now() / 1000)}.${crypto.randomInt(10000).toString().padStart(4, '0')}`;
}

function opnsenseBody(name: string, bytes: number): string {
  const head = `<?xml version="1.0"?>
<opnsense>
  <theme>opnsense</theme>
  <system>
    <hostname>${name}</hostname>
    <domain>example.net</domain>
    <user>
      <name>root</name>
      <password>$2y$10$YRVoF4SgskIsrXOvOQjGieB9XqHPRra9R7d80B3BZdbY/j21TwBfS</password>
    </user>
  </system>
  <ipsec>
    <phase1><descr>branch</descr><pre-shared-key>@@SECRET1@@</pre-shared-key></phase1>
  </ipsec>
  <OPNsense>
    <wireguard><server><privkey>@@SECRET2@@</privkey></server></wireguard>
  </OPNsense>
  <filter>
`;
  const tail = `  </filter>
  <revision>
    <username>root@10.0.0.5</username>
    <time>@@TIME@@</time>
    <description>/firewall_rules.php made changes</description>
  </revision>
</opnsense>
`;
  let rules = '';
  for (let i = 0; head.length + rules.length + tail.length < bytes; i++) {
    rules += `    <rule uuid="${uuidOf(name, i)}">
      <type>pass</type>
      <interface>lan</interface>
      <ipprotocol>inet</ipprotocol>
      <descr>Allow 10.${i % 256}.${(i >> 8) % 256}.0/24 to the DMZ</descr>
      <source><network>10.${i % 256}.${(i >> 8) % 256}.0/24</network></source>
      <destination><network>opt1</network></destination>
    </rule>
`;
  }
  return head + rules + tail;
}

function ciscoBody(name: string, bytes: number): string {
  const head = `Building configuration...

Current configuration : @@BYTES@@ bytes
!
! Last configuration change at 10:12:01 UTC Tue Jun 4 2024 by admin
!
version ${CISCO_VERSION}
service timestamps debug datetime msec
service password-encryption
!
hostname ${name}
!
enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM
!
`;
  const tail = `!
ntp clock-period @@CLOCK@@
ntp server 10.0.0.1
!
end
`;
  let body = '';
  for (let i = 0; head.length + body.length + tail.length < bytes; i++) {
    body += `interface GigabitEthernet0/${i}
 description link ${i} to ${name}
 ip address 10.${i % 256}.${(i >> 8) % 256}.1 255.255.255.0
 no shutdown
!
`;
  }
  return head + body + tail;
}

function uuidOf(name: string, i: number): string {
  const h = crypto.createHash('md5').update(`${name}/${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
