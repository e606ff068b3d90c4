import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deviceConnectionSchema, deviceModelSchema, poolOptionsSchema } from '@/lib/devices/schemas';

/** What lib/devices accepts, with its defaults, and the words for what it does not. */

const FP = 'SHA256:RVc1TJILU1BiesH/qR857WpXWRlOhBipzevsMiS/6a0';
const base = { host: 'FW1.example.net', username: 'backup', password: ' secret ' };

function issue(r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  expect(r.success).toBe(false);
  const i = r.error!.issues[0]!;
  return { field: i.path.map(String).join('.'), message: i.message };
}

describe('deviceConnectionSchema', () => {
  it('fills in the defaults: port 22, 20 s to connect, 2 min per command, keepalive 10 s × 3, 64 MiB', () => {
    const d = deviceConnectionSchema.parse({ ...base, hostKeyFingerprint: FP });
    expect(d).toEqual({
      host: 'fw1.example.net',
      port: 22,
      username: 'backup',
      credentials: { password: ' secret ' },
      hostKey: { fingerprint: FP, keyType: undefined },
      limits: { connectTimeoutMs: 20_000, commandTimeoutMs: 120_000, keepaliveIntervalMs: 10_000, keepaliveCountMax: 3, maxOutputBytes: 64 * 1024 * 1024 },
    });
  });

  it('no fingerprint (absent, null or blank) is probe mode', () => {
    expect(deviceConnectionSchema.parse(base).hostKey).toBeNull();
    expect(deviceConnectionSchema.parse({ ...base, hostKeyFingerprint: null }).hostKey).toBeNull();
    expect(deviceConnectionSchema.parse({ ...base, hostKeyFingerprint: '  ' }).hostKey).toBeNull();
  });

  it('takes a fingerprint as pasted (without SHA256:, with padding) and the key type', () => {
    const d = deviceConnectionSchema.parse({ ...base, hostKeyFingerprint: `${FP.slice(7)}=`, hostKeyType: 'ecdsa-sha2-nistp256' });
    expect(d.hostKey).toEqual({ fingerprint: FP, keyType: 'ecdsa-sha2-nistp256' });
  });

  it('a private key (with its passphrase) instead of a password', () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      privateKeyEncoding: { type: 'sec1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'open sesame' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const d = deviceConnectionSchema.parse({ host: '10.0.0.1', username: 'u', privateKey, passphrase: 'open sesame' });
    expect(d.credentials).toMatchObject({ passphrase: 'open sesame' });
    expect(issue(deviceConnectionSchema.safeParse({ host: '10.0.0.1', username: 'u', privateKey, passphrase: 'wrong' }))).toEqual({
      field: 'passphrase',
      message: 'The passphrase does not open this private key.',
    });
  });

  it('refuses, per field', () => {
    expect(issue(deviceConnectionSchema.safeParse({ ...base, host: 'fw 1' }))).toEqual({ field: 'host', message: '"fw 1" is not a host name or address.' });
    expect(issue(deviceConnectionSchema.safeParse({ ...base, port: 0 })).field).toBe('port');
    expect(issue(deviceConnectionSchema.safeParse({ ...base, username: '' })).field).toBe('username');
    expect(issue(deviceConnectionSchema.safeParse({ ...base, password: undefined })).field).toBe('credentials');
    expect(issue(deviceConnectionSchema.safeParse({ ...base, privateKey: 'x' }))).toEqual({ field: 'credentials', message: 'Give either a password or a private key, not both.' });
    expect(issue(deviceConnectionSchema.safeParse({ ...base, hostKeyFingerprint: 'MD5:aa:bb' })).field).toBe('hostKeyFingerprint');
    expect(issue(deviceConnectionSchema.safeParse({ ...base, commandTimeoutMs: 10 }))).toEqual({
      field: 'commandTimeoutMs',
      message: 'The command time limit is a number of milliseconds from 500 to 3600000.',
    });
    expect(issue(deviceConnectionSchema.safeParse({ ...base, maxOutputBytes: 0 })).field).toBe('maxOutputBytes');
    expect(issue(deviceConnectionSchema.safeParse({ ...base, keepaliveCountMax: 0 })).field).toBe('keepaliveCountMax');
  });
});

describe('deviceModelSchema', () => {
  it('OPNsense and Cisco have their own command; a device may give its own; blank is none', () => {
    expect(deviceModelSchema.parse({ model: 'opnsense' })).toEqual({ model: 'opnsense' });
    expect(deviceModelSchema.parse({ model: 'cisco-ios', command: '' })).toEqual({ model: 'cisco-ios' });
    expect(deviceModelSchema.parse({ model: 'opnsense', command: ' cat /cf/conf/config.xml ' })).toEqual({ model: 'opnsense', command: 'cat /cf/conf/config.xml' });
  });

  it('generic needs its command', () => {
    expect(deviceModelSchema.parse({ model: 'generic', command: 'cat /etc/config.boot', firmwareCommand: 'uname -r' })).toEqual({
      model: 'generic',
      command: 'cat /etc/config.boot',
      firmwareCommand: 'uname -r',
    });
    expect(issue(deviceModelSchema.safeParse({ model: 'generic', command: '  ' }))).toEqual({ field: 'command', message: 'Enter the command that prints the configuration.' });
    expect(issue(deviceModelSchema.safeParse({ model: 'generic', command: 'cat a\ncat b' })).message).toBe('The command must be one line, without control characters.');
  });

  it('an unknown model', () => {
    expect(issue(deviceModelSchema.safeParse({ model: 'juniper' })).message).toBe('Choose the device model: OPNsense, Cisco IOS or Generic.');
  });
});

describe('poolOptionsSchema', () => {
  it('defaults: 16 sessions, 3 attempts, back-off from 1 s to 30 s, 5 s grace', () => {
    expect(poolOptionsSchema.parse({})).toEqual({ concurrency: 16, attempts: 3, backoffBaseMs: 1000, backoffMaxMs: 30_000, abandonAfterMs: 5000 });
  });
  it('refuses a concurrency out of range', () => {
    expect(issue(poolOptionsSchema.safeParse({ concurrency: 0 }))).toEqual({ field: 'concurrency', message: 'The number of concurrent sessions is a whole number from 1 to 256.' });
  });
});
