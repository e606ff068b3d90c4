import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeviceError, type DeviceError } from '@/lib/devices/errors';
import { exportConfiguration, type ConfigurationExport, type ExportOutcome } from '@/lib/devices/export';
import { runCommand } from '@/lib/devices/run-command';
import { deviceConnectionSchema } from '@/lib/devices/schemas';
import { openDeviceSession } from '@/lib/devices/session';
import { CISCO_VERSION, OPNSENSE_VERSION, startDevices, type SimulatedDevice, type SimulatedFleet } from '../helpers/ssh-devices';

/**
 * exportConfiguration against simulated devices (ssh2 servers in this
 * process, tests/helpers/ssh-devices.ts): what a good device gives, and each
 * way a device can fail, in words and with its reason.
 */

let fleet: SimulatedFleet;
const byName = new Map<string, SimulatedDevice>();
const dev = (key: string) => byName.get(key)!;

const SPECS = {
  opnsense: { kind: 'opnsense', configBytes: 200 * 1024 },
  cisco: { kind: 'cisco', configBytes: 32 * 1024 },
  ciscoNoExit: { kind: 'cisco', behaviour: 'no-exit-status' },
  generic: { kind: 'generic', command: 'cat /etc/config.boot', content: Buffer.from('interfaces {\n  ethernet eth0\n}\n') },
  refuses: { kind: 'opnsense', behaviour: 'refuse-password' },
  rotates: { kind: 'opnsense' },
  hangs: { kind: 'opnsense', behaviour: 'hang-after-login' },
  freezes: { kind: 'opnsense', behaviour: 'freeze-after-login' },
  drops: { kind: 'opnsense', behaviour: 'close-mid-output', configBytes: 512 * 1024 },
  empty: { kind: 'opnsense', behaviour: 'empty' },
  errorText: { kind: 'opnsense', behaviour: 'error-text' },
  ciscoErrorText: { kind: 'cisco', behaviour: 'error-text' },
  churns: { kind: 'opnsense', behaviour: 'churn-secrets' },
  slow: { kind: 'opnsense', behaviour: 'slow', configBytes: 64 * 1024, slow: { chunkBytes: 8192, delayMs: 30 } },
  fails: { kind: 'opnsense', behaviour: 'fail-command' },
  genericDrops: { kind: 'generic', behaviour: 'close-mid-output', command: 'cat cfg', content: crypto.randomBytes(300 * 1024) },
} as const;

async function failure(p: Promise<unknown>): Promise<DeviceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isDeviceError(err), `expected a DeviceError, got ${String(err)}`).toBe(true);
  return err as DeviceError;
}

function exported(o: ExportOutcome): ConfigurationExport {
  expect(o.kind).toBe('export');
  return o as ConfigurationExport;
}

beforeAll(async () => {
  const keys = Object.keys(SPECS) as (keyof typeof SPECS)[];
  fleet = await startDevices(keys.map((k) => SPECS[k]));
  keys.forEach((k, i) => byName.set(k, fleet.devices[i]!));
});
afterAll(async () => {
  await fleet?.close();
});

describe('a good device', () => {
  it('OPNsense: the whole config.xml, byte for byte, its firmware and host name', async () => {
    const d = dev('opnsense');
    const out = exported(await exportConfiguration(d.connection(), d.model()));
    expect(out.config.equals(d.served.at(-1)!)).toBe(true);
    expect(out.config.length).toBeGreaterThanOrEqual(200 * 1024);
    expect(out.firmwareVersion).toBe(OPNSENSE_VERSION);
    expect(out.facts).toEqual({ model: 'opnsense', modelName: 'OPNsense', hostname: `${d.name}.example.net` });
    expect(out.hostKey).toEqual({ keyType: 'ssh-ed25519', fingerprint: d.fingerprint });
    expect(out.command).toBe('cat /conf/config.xml');
    expect(out.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(d.stats.commands.slice(-2)).toEqual(['cat /conf/config.xml', 'opnsense-version']);
  });

  it('Cisco: the running configuration, the version line as firmware; the clock-period churn leaves the digest alone', async () => {
    const d = dev('cisco');
    const a = exported(await exportConfiguration(d.connection(), d.model()));
    const b = exported(await exportConfiguration(d.connection(), d.model()));
    expect(a.config.equals(d.served.at(-2)!)).toBe(true);
    expect(a.config.toString('latin1')).toMatch(/^Building configuration/);
    expect(a.firmwareVersion).toBe(CISCO_VERSION);
    expect(a.facts.hostname).toBe(d.name);
    expect(a.config.equals(b.config)).toBe(false);
    expect(a.digest).toBe(b.digest);
    // One command per connection, as some IOS releases allow.
    expect(d.stats.commands).toEqual(['show running-config', 'show running-config']);
  });

  it('Cisco that closes the channel without an exit status: accepted, its framing says it is whole', async () => {
    const d = dev('ciscoNoExit');
    const out = exported(await exportConfiguration(d.connection(), d.model()));
    expect(out.config.equals(d.served.at(-1)!)).toBe(true);
  });

  it('generic: the admin-given command', async () => {
    const d = dev('generic');
    const out = exported(await exportConfiguration(d.connection(), d.model()));
    expect(out.config.toString()).toBe(SPECS.generic.content.toString());
    expect(out.firmwareVersion).toBeUndefined();
    expect(out.facts).toEqual({ model: 'generic', modelName: 'Generic' });
  });

  it('a slow device that trickles its output completes', async () => {
    const d = dev('slow');
    const out = exported(await exportConfiguration(d.connection(), d.model()));
    expect(out.config.equals(d.served.at(-1)!)).toBe(true);
  });

  it('secrets re-encrypted with a new salt on every export: different bytes, the same digest', async () => {
    const d = dev('churns');
    const a = exported(await exportConfiguration(d.connection(), d.model()));
    await new Promise((r) => setTimeout(r, 5));
    const b = exported(await exportConfiguration(d.connection(), d.model()));
    expect(a.config.equals(b.config)).toBe(false);
    expect(a.digest).toBe(b.digest);
    // …while another device's configuration has another digest.
    const other = exported(await exportConfiguration(dev('opnsense').connection(), dev('opnsense').model()));
    expect(other.digest).not.toBe(a.digest);
  });
});

describe('probe mode (no pinned key)', () => {
  it('returns the presented key and runs nothing: no login, no command', async () => {
    const d = dev('generic');
    const before = { ...d.stats, commands: [...d.stats.commands] };
    const out = await exportConfiguration(d.connection({ hostKeyFingerprint: null }), d.model());
    expect(out).toEqual({ kind: 'probe', hostKey: { keyType: 'ssh-ed25519', fingerprint: d.fingerprint } });
    expect(d.stats.connections).toBe(before.connections + 1);
    expect(d.stats.logins).toBe(before.logins);
    expect(d.stats.refusedLogins).toBe(before.refusedLogins);
    expect(d.stats.commands).toEqual(before.commands);
  });
});

describe('failures, in words', () => {
  it('credentials rejected, the password not repeated; not transient', async () => {
    const d = dev('refuses');
    const err = await failure(exportConfiguration(d.connection(), d.model()));
    expect(err.reason).toBe('credentials_rejected');
    expect(err.transient).toBe(false);
    expect(err.message).toContain(`did not accept the user "${d.username}" with this password`);
    expect(err.message).not.toContain(d.password);
  });

  it('host key changed: refused before login, naming both fingerprints', async () => {
    const d = dev('rotates');
    const pinned = d.fingerprint;
    exported(await exportConfiguration(d.connection(), d.model()));
    const logins = d.stats.logins;
    d.rotateHostKey();
    const err = await failure(exportConfiguration(d.connection({ hostKeyFingerprint: pinned }), d.model()));
    expect(err.reason).toBe('host_key_changed');
    expect(err.transient).toBe(false);
    expect(err.message).toContain(pinned);
    expect(err.message).toContain(d.fingerprint);
    expect(err.details).toEqual({ presentedKeyType: 'ssh-ed25519', presentedFingerprint: d.fingerprint, pinnedFingerprint: pinned });
    expect(d.stats.logins).toBe(logins);
    expect(d.stats.refusedLogins).toBe(0);
  });

  it('a device that hangs after login: the command time limit ends it', async () => {
    const d = dev('hangs');
    const err = await failure(exportConfiguration(d.connection({ commandTimeoutMs: 700 }), d.model()));
    expect(err.reason).toBe('command_timed_out');
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/"cat \/conf\/config\.xml" on 127\.0\.0\.1:\d+ did not finish within 0\.7 s/);
    // The session was closed on the device's side too.
    await expect.poll(() => d.stats.active, { timeout: 2000 }).toBe(0);
  });

  it('a device that stops answering keepalives: the connection is given up after interval × count', async () => {
    const d = dev('freezes');
    const err = await failure(exportConfiguration(d.connection({ keepaliveIntervalMs: 500, keepaliveCountMax: 2, commandTimeoutMs: 60_000 }), d.model()));
    expect(err.reason).toBe('connection_lost');
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/closed before "cat \/conf\/config\.xml" printed anything \(127\.0\.0\.1:\d+ stopped answering \(no reply to keepalives\); the connection was closed\)/);
    // Once it reads again, the device finds the connection closed.
    await expect.poll(() => d.stats.active, { timeout: 6000 }).toBe(0);
  });

  it('a connection dropped in the middle of the output', async () => {
    for (const key of ['drops', 'genericDrops'] as const) {
      const d = dev(key);
      const err = await failure(exportConfiguration(d.connection(), d.model()));
      expect(err.reason, key).toBe('connection_lost');
      expect(err.transient).toBe(true);
      expect(err.message).toMatch(/closed in the middle of the output of "cat .*", after \d+ bytes/);
      expect(err.details.bytes).toBeGreaterThan(0);
      expect(err.details.bytes).toBeLessThan(d.served.at(-1)!.length);
    }
  });

  it('an empty configuration is a failure, not a backup', async () => {
    const d = dev('empty');
    const err = await failure(exportConfiguration(d.connection(), d.model()));
    expect(err.reason).toBe('invalid_output');
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/The output of "cat \/conf\/config\.xml" on .* is empty/);
  });

  it('error text instead of the configuration (exit status 0) is a failure', async () => {
    let err = await failure(exportConfiguration(dev('errorText').connection(), dev('errorText').model()));
    expect(err.reason).toBe('invalid_output');
    expect(err.message).toContain('is an error message, not a configuration: "cat: /conf/config.xml: Permission denied"');
    err = await failure(exportConfiguration(dev('ciscoErrorText').connection(), dev('ciscoErrorText').model()));
    expect(err.reason).toBe('invalid_output');
    expect(err.message).toContain('"% Authorization failed."');
  });

  it('the command failed: its exit status and the last line of stderr', async () => {
    const d = dev('fails');
    const err = await failure(exportConfiguration(d.connection(), d.model()));
    expect(err.reason).toBe('command_failed');
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/"cat \/conf\/config\.xml" on .* failed with exit status 1: "No such file or directory"; nothing was kept\./);
    expect(err.details).toMatchObject({ exitStatus: 1, stderrLine: 'No such file or directory' });
  });

  it('a command the device does not know fails with its exit status', async () => {
    const d = dev('generic');
    const err = await failure(exportConfiguration(d.connection(), { model: 'generic', command: 'show configuration' }));
    expect(err.reason).toBe('command_failed');
    expect(err.message).toContain('failed with exit status 127: "sh: show: not found"');
  });

  it('output too large: the session is closed at the limit', async () => {
    const d = dev('opnsense');
    const err = await failure(exportConfiguration(d.connection({ maxOutputBytes: 64 * 1024 }), d.model()));
    expect(err.reason).toBe('output_too_large');
    expect(err.message).toContain('larger than the limit of 65536 bytes');
    await expect.poll(() => d.stats.active, { timeout: 2000 }).toBe(0);
  });

  it('connection refused', async () => {
    const port = await closedPort();
    const d = dev('opnsense');
    const err = await failure(exportConfiguration(d.connection({ port }), d.model()));
    expect(err.reason).toBe('connection_refused');
    expect(err.transient).toBe(true);
    expect(err.message).toBe(`127.0.0.1:${port} refused the connection: no SSH server listens on port ${port} there.`);
  });

  it('connect timeout: a server that accepts TCP but never speaks SSH', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const err = await failure(exportConfiguration(dev('opnsense').connection({ port, connectTimeoutMs: 600 }), dev('opnsense').model()));
      expect(err.reason).toBe('connect_timed_out');
      expect(err.transient).toBe(true);
      expect(err.message).toMatch(/did not complete the SSH connection within 1 s/);
    } finally {
      silent.close();
      await new Promise((r) => setImmediate(r));
    }
  });

  it('a host name that does not resolve', async () => {
    const err = await failure(exportConfiguration({ ...dev('opnsense').connection(), host: 'no-such-device.invalid' }, dev('opnsense').model()));
    expect(err.reason).toBe('host_not_found');
    expect(err.transient).toBe(false);
    expect(err.message).toContain('no-such-device.invalid');
  });

  it('bad input fails before connecting, naming the field', async () => {
    const d = dev('opnsense');
    const connections = d.stats.connections;
    let err = await failure(exportConfiguration({ ...d.connection(), port: 70000 }, d.model()));
    expect(err).toMatchObject({ reason: 'invalid_input', field: 'port', code: 'bad_request' });
    err = await failure(exportConfiguration({ ...d.connection(), password: undefined }, d.model()));
    expect(err).toMatchObject({ reason: 'invalid_input', field: 'credentials' });
    err = await failure(exportConfiguration({ ...d.connection(), password: undefined, privateKey: 'not a key' }, d.model()));
    expect(err).toMatchObject({ reason: 'bad_private_key', field: 'privateKey' });
    err = await failure(exportConfiguration(d.connection(), { model: 'juniper' } as never));
    expect(err).toMatchObject({ reason: 'invalid_input', field: 'model.model' });
    err = await failure(exportConfiguration(d.connection(), { model: 'generic' } as never));
    expect(err).toMatchObject({ reason: 'invalid_input', field: 'model.command' });
    expect(d.stats.connections).toBe(connections);
  });

  it('cancelled: the session is torn down at once', async () => {
    const d = dev('hangs');
    const ac = new AbortController();
    const p = exportConfiguration(d.connection(), d.model(), { signal: ac.signal });
    await expect.poll(() => d.stats.active).toBe(1);
    ac.abort();
    const err = await failure(p);
    expect(err.reason).toBe('cancelled');
    await expect.poll(() => d.stats.active, { timeout: 2000 }).toBe(0);
  });
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('a command on a connection that is already gone', () => {
  it('fails at once as a lost connection (ssh2 throws "Not connected"), not at the time limit', async () => {
    const d = dev('opnsense');
    const device = deviceConnectionSchema.parse(d.connection());
    const session = await openDeviceSession(device);
    await session.close();
    expect(session.closed()).toBe(true);
    const t0 = Date.now();
    const err = await failure(runCommand(session, 'cat /conf/config.xml', { timeoutMs: 60_000, maxBytes: 1 << 20 }));
    expect(err.reason).toBe('connection_lost');
    expect(err.message).toMatch(/closed before "cat \/conf\/config.xml" printed anything/);
    // Well below the 60 s limit: the timer did not decide it.
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
