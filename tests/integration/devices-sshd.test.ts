import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeviceError, type DeviceError } from '@/lib/devices/errors';
import { exportConfiguration, type ConfigurationExport } from '@/lib/devices/export';
import { exportDevices } from '@/lib/devices/export-fleet';
import type { DeviceConnectionInput } from '@/lib/devices/schemas';
import { startSshServer, type SshServer } from '../helpers/sshd';

/**
 * lib/devices against a real OpenSSH sshd (Debian's, tests/helpers/sshd.ts)
 * standing in for a device whose configuration is a file: exported with
 * `cat` over an exec channel, logging in by password and by key; the
 * fingerprint in probe mode is the one `ssh-keygen -lf` prints; a failing
 * command, wrong credentials and a changed host key fail in words.
 */

let server: SshServer;
let configPath: string;
let config: Buffer;
let versionPath: string;

function opnsenseXml(bytes: number): Buffer {
  let rules = '';
  for (let i = 0; rules.length < bytes; i++) rules += `    <rule><interface>lan</interface><descr>rule ${i} ${crypto.randomBytes(8).toString('hex')}</descr></rule>\n`;
  return Buffer.from(`<?xml version="1.0"?>\n<opnsense>\n  <system><hostname>sshd-fw</hostname><domain>lab</domain></system>\n  <filter>\n${rules}  </filter>\n</opnsense>\n`);
}

function device(extra: Partial<DeviceConnectionInput> = {}): DeviceConnectionInput {
  return {
    host: server.host,
    port: server.port,
    username: server.user,
    password: server.password,
    hostKeyFingerprint: server.hostKeyFingerprint('ed25519'),
    connectTimeoutMs: 10_000,
    ...extra,
  };
}

async function failure(p: Promise<unknown>): Promise<DeviceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isDeviceError(err), `expected a DeviceError, got ${String(err)}`).toBe(true);
  return err as DeviceError;
}

beforeAll(async () => {
  server = await startSshServer();
  configPath = path.join(server.filesDir, 'config.xml');
  config = opnsenseXml(3 * 1024 * 1024);
  fs.writeFileSync(configPath, config, { mode: 0o644 });
  versionPath = path.join(server.filesDir, 'version');
  fs.writeFileSync(versionPath, 'OPNsense 24.7.5 (amd64)\n', { mode: 0o644 });
});
afterAll(async () => {
  await server?.stop();
});

describe('a real sshd as the device', () => {
  it('probe mode returns the fingerprint ssh-keygen -lf prints, and logs nobody in', async () => {
    const out = await exportConfiguration(device({ hostKeyFingerprint: null }), { model: 'opnsense', command: `cat ${configPath}` });
    expect(out).toEqual({ kind: 'probe', hostKey: { keyType: 'ssh-ed25519', fingerprint: server.hostKeyFingerprint('ed25519') } });
    expect(server.output()).not.toMatch(/Accepted|Failed password/);
  });

  it('OPNsense model, password login: the file byte for byte (3 MiB); no opnsense-version here, so no firmware, and still a backup', async () => {
    const out = (await exportConfiguration(device(), { model: 'opnsense', command: `cat ${configPath}` })) as ConfigurationExport;
    expect(out.kind).toBe('export');
    expect(out.config.equals(config)).toBe(true);
    expect(out.facts.hostname).toBe('sshd-fw.lab');
    expect(out.firmwareVersion).toBeUndefined();
    expect(server.output()).toMatch(new RegExp(`Accepted password for ${server.user}`));
  });

  it('generic model, key login (OpenSSH ed25519, and PEM ECDSA with a passphrase), firmware from its own command', async () => {
    for (const creds of [{ privateKey: server.keys.ed25519 }, { privateKey: server.keys.ecdsaPem, passphrase: server.keys.ecdsaPemPassphrase }]) {
      const out = (await exportConfiguration(device({ password: undefined, ...creds }), {
        model: 'generic',
        command: `cat ${configPath}`,
        firmwareCommand: `cat ${versionPath}`,
      })) as ConfigurationExport;
      expect(out.config.equals(config)).toBe(true);
      expect(out.firmwareVersion).toBe('OPNsense 24.7.5 (amd64)');
    }
    expect(server.output()).toMatch(new RegExp(`Accepted publickey for ${server.user}`));
  });

  it('several exports through the pool share nothing and all complete', async () => {
    const outcomes = await exportDevices(
      Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, connection: device(), model: { model: 'generic' as const, command: `cat ${configPath}` } })),
      { concurrency: 3 },
    );
    expect(outcomes.map((o) => o.state)).toEqual(Array(6).fill('succeeded'));
    for (const o of outcomes) expect((o as { value: ConfigurationExport }).value.config.equals(config)).toBe(true);
  });

  it('a missing file: the command failed with exit status 1 and cat’s own words', async () => {
    const err = await failure(exportConfiguration(device(), { model: 'opnsense', command: `cat ${server.filesDir}/missing.xml` }));
    expect(err.reason).toBe('command_failed');
    expect(err.details.exitStatus).toBe(1);
    expect(err.message).toContain(`failed with exit status 1: "cat: ${server.filesDir}/missing.xml: No such file or directory"`);
  });

  it('a file that is not an OPNsense configuration is not a backup', async () => {
    const err = await failure(exportConfiguration(device(), { model: 'opnsense', command: `cat ${versionPath}` }));
    expect(err.reason).toBe('invalid_output');
  });

  it('a command that runs too long is ended at its time limit', async () => {
    // Prints a dot now and then, so that it dies of SIGPIPE once the session is gone (a bare sleep would outlive it).
    const err = await failure(exportConfiguration(device({ commandTimeoutMs: 800 }), { model: 'generic', command: 'while sleep 0.2; do echo .; done' }));
    expect(err.reason).toBe('command_timed_out');
  });

  it('output too large', async () => {
    const err = await failure(exportConfiguration(device({ maxOutputBytes: 1024 * 1024 }), { model: 'generic', command: `cat ${configPath}` }));
    expect(err.reason).toBe('output_too_large');
  });

  it('a wrong password and an unauthorized key are rejected, in words, without the secret', async () => {
    let err = await failure(exportConfiguration(device({ password: 'wrong-password-1234' }), { model: 'generic', command: 'true' }));
    expect(err.reason).toBe('credentials_rejected');
    expect(err.message).not.toContain('wrong-password-1234');
    err = await failure(exportConfiguration(device({ password: undefined, privateKey: server.keys.stranger }), { model: 'generic', command: 'true' }));
    expect(err.reason).toBe('credentials_rejected');
    expect(err.message).toMatch(/with this key/);
  });

  it('a changed host key is refused naming both fingerprints, before any login', async () => {
    const old = server.hostKeyFingerprint('ed25519');
    await server.replaceHostKeys();
    const fresh = server.hostKeyFingerprint('ed25519');
    expect(fresh).not.toBe(old);
    const before = server.output().length;
    const err = await failure(exportConfiguration(device({ hostKeyFingerprint: old }), { model: 'generic', command: `cat ${configPath}` }));
    expect(err.reason).toBe('host_key_changed');
    expect(err.message).toContain(old);
    expect(err.message).toContain(fresh);
    expect(server.output().slice(before)).not.toMatch(/Accepted|Failed password|authenticating user/);
  });
});
