import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { authSecret } from '@/lib/auth/secret';
import { loadOrCreateKey, secretsDir } from '@/lib/crypto/secret-files';

const saved = process.env.NEXTAUTH_SECRET;
afterEach(() => {
  if (saved === undefined) delete process.env.NEXTAUTH_SECRET;
  else process.env.NEXTAUTH_SECRET = saved;
});

describe('loadOrCreateKey', () => {
  it('makes a random key of the asked size once, in a 0600 file, and returns the same key after', () => {
    const a = loadOrCreateKey('test-a.key');
    expect(a).toHaveLength(32);
    const file = path.join(secretsDir(), 'test-a.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKey('test-a.key').equals(a)).toBe(true);
    expect(loadOrCreateKey('test-b.key').equals(a)).toBe(false);
    expect(loadOrCreateKey('test-c.key', 48)).toHaveLength(48);
  });

  it('asking for another size than the file holds is an error, not a new key', () => {
    loadOrCreateKey('test-d.key');
    expect(() => loadOrCreateKey('test-d.key', 16)).toThrow(/damaged \(expected 16 bytes\)/);
  });

  it('an existing key file (e.g. restored from backup) is used as is', () => {
    const key = Buffer.alloc(32, 0xab);
    fs.mkdirSync(secretsDir(), { recursive: true });
    fs.writeFileSync(path.join(secretsDir(), 'restored.key'), `${key.toString('base64')}\n`, { mode: 0o600 });
    expect(loadOrCreateKey('restored.key').equals(key)).toBe(true);
  });
});

describe('authSecret', () => {
  it('is NEXTAUTH_SECRET when set', () => {
    process.env.NEXTAUTH_SECRET = 'x'.repeat(40);
    expect(authSecret()).toBe('x'.repeat(40));
  });

  it('otherwise a key made at first start, stable across calls', () => {
    delete process.env.NEXTAUTH_SECRET;
    const a = authSecret();
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(authSecret()).toBe(a);
    expect(fs.existsSync(path.join(secretsDir(), 'nextauth.key'))).toBe(true);
  });
});
